"""Config validation: every mistake is one line naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from experiments.config import load_config
from features.errors import ConfigError

MINIMAL = """
studies:
  - name: s
    registered_model: m
    targets: [digital_proxy.balance]
    models: [naive, seasonal_naive]
"""

SECOND_STUDY = """  - name: t
    registered_model: n
    targets: [digital_proxy.balance]
    models: [naive, ets, ensemble]
    ensemble: {k: 2}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_config_gets_documented_defaults(tmp_path):
    config, digest = load_config(write(tmp_path, MINIMAL), base=tmp_path)
    study = config.studies[0]
    assert study.backtest.horizon == 12 and study.backtest.n_origins == 24
    assert study.freq == "MS" and study.season_length == 12
    assert config.mlruns_dir == tmp_path / "mlruns"
    assert len(digest) == 64


def test_default_config_is_valid():
    root = Path(__file__).resolve().parents[1]
    config, _ = load_config(root / "configs" / "default.yaml", base=root)
    study = config.studies[0]
    assert study.name == "digital-deficit" and study.registered_model == "digital-deficit"
    assert len(study.models) >= 8 and study.backtest.n_origins >= 24


@pytest.mark.parametrize(
    "text, fragment",
    [
        (MINIMAL.replace("naive, seasonal_naive", "naive, lstm"), "unknown model 'lstm'"),
        (MINIMAL + "    horizon: 3\n", "studies.0.horizon"),
        (MINIMAL.replace("targets: [digital_proxy.balance]", "targets: []"), "studies.0.targets"),
        (MINIMAL + "    backtest: {horizon: 0}\n", "studies.0.backtest.horizon"),
        (MINIMAL + "    frequency: weekly\n", "studies.0.frequency"),
        ("studies: [", "invalid YAML"),
        ("- just a list", "expected a mapping"),
        (MINIMAL.replace("naive, seasonal_naive", "naive, ensemble"), "ensemble.k"),
        # A typo in a later study's model parameters fails when the config is read, before the
        # first study writes anything: each name is checked against the estimator's signature.
        (
            MINIMAL + SECOND_STUDY + "    model_params: {ets: {trnd: add}}\n",
            "studies.1: Value error, model 'ets' has no parameter(s) ['trnd']",
        ),
        (MINIMAL + SECOND_STUDY + "    model_params: {ensemble: {members: [naive, lstm]}}\n", "unknown model 'lstm'"),
    ],
)
def test_bad_configs_raise_one_line(tmp_path, text, fragment):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), base=tmp_path)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message
    assert "c.yaml" in message


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_annual_candidates_are_checked_against_the_estimators_signature():
    from pydantic import ValidationError

    from experiments.studies.annual.config import AnnualModelSpec

    assert AnnualModelSpec(name="ok", model="trend_regression", params={}).params == {}
    with pytest.raises(ValidationError, match=r"model 'naive' has no parameter\(s\) \['window'\]"):
        AnnualModelSpec(name="typo", model="naive", params={"window": 3})


def test_every_backtest_setting_of_a_config_reaches_the_engine_by_one_path():
    """Config fields named like an engine setting are passed by name (BacktestSettings.from_options);
    the others have owners of their own, listed here, so a new field cannot be silently dropped."""
    import dataclasses

    from experiments.config import BacktestConfig
    from experiments.studies.annual.config import AnnualBacktestConfig
    from forecast.backtest.engine import BacktestSettings

    engine = {f.name for f in dataclasses.fields(BacktestSettings)}
    owned_elsewhere = {
        BacktestConfig: {"metric", "compare_exog_modes", "compare_exog_every"},  # ranking; exog_options
        AnnualBacktestConfig: {"metric", "compare_exog_modes", "supporting_horizon", "supporting_n_origins"},
    }
    for config_class, others in owned_elsewhere.items():
        assert set(config_class.model_fields) - engine == others, config_class
    bt = BacktestConfig(
        horizon=7,
        n_origins=5,
        step=2,
        refit_every=3,
        warm_start=True,
        origins_per_task=6,
        share_features=True,
        exog_mode="forecast",
        publication_lag_days=42,
    )
    settings = BacktestSettings.from_options(bt.model_dump(), season_length=4)
    for name in set(BacktestConfig.model_fields) & engine:
        assert getattr(settings, name) == getattr(bt, name), name
    assert settings.season_length == 4 and settings.freq is None


def test_a_name_or_registered_model_used_by_two_studies_of_any_kinds_is_one_error_line(tmp_path):
    import yaml

    root = Path(__file__).resolve().parents[1]
    shipped = yaml.safe_load((root / "configs" / "default.yaml").read_text(encoding="utf-8"))
    for field, value in (("name", shipped["studies"][0]["name"]), ("registered_model", "digital-deficit")):
        raw = dict(shipped)
        raw["annual_studies"] = [{**shipped["annual_studies"][0], field: value}]
        path = tmp_path / "c.yaml"
        path.write_text(yaml.safe_dump(raw), encoding="utf-8")
        with pytest.raises(ConfigError) as err:
            load_config(path, base=root)
        assert "is used by more than one study" in str(err.value) and "\n" not in str(err.value)
