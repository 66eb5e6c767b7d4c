"""What analysts read: console tables, HTML reports, charts, labels and number formats."""
