"""Default locations and selection names of official data.

Kept free of heavy imports (pandas, pandera): the CLI reads them when it starts.
"""

from pathlib import Path

DEFAULT_DATA_DIR = Path("data/vintages")  # relative to the directory a command runs from
DEFAULT_BOJ_CATALOGUE = Path(__file__).resolve().parents[1] / "configs" / "boj_series.yaml"
NEWEST = "newest"  # the newest stored vintage (or the bundled snapshot if there is none)
BUNDLED = "bundled"  # the snapshot shipped in the package, without any vintage
