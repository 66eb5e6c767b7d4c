"""Field types shared by the study configs."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from forecast.metrics import check_ranking_metric

# A loss of forecast.metrics.BACKTEST_METRICS, checked against the table when the config is read.
Metric = Annotated[str, AfterValidator(check_ranking_metric)]
