"""Everything MLflow: the store, runs, lineage, the registry, the promotion gate."""
