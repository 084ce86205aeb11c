"""Configs: shipped ones load; mistakes name the key before anything is trained."""

from pathlib import Path

import pytest

from salatag.config import ConfigError, load_config

# training configs; floors.yaml holds the evaluation floors (tested in test_evaluate)
CONFIGS = sorted(
    p for p in (Path(__file__).parents[1] / "configs").glob("*.yaml") if p.name != "floors.yaml"
)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_load(path: Path) -> None:
    cfg = load_config(path)
    assert load_config(None, []).model_validate(cfg.model_dump()) == cfg


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["optim.lerning_rate=1"], "optim.lerning_rate: unknown key"),
        (["optim.epoch=3"], "did you mean optim.epochs"),
        (["optim.epochs=many"], "optim.epochs: Input should be a valid integer"),
        (["window.context=sentence"], "window.context: Input should be 'article' or 'paragraph'"),
        (["finetune.method=qlora"], "finetune.method"),
        (["window.max_length=4096"], "window.max_length: Input should be less than or equal"),
        (["window=yes"], "window: Input should be a valid dictionary"),
        (["heads=yes"], "heads: unknown key"),
        (["optim.epochs"], "expected key=value"),
    ],
)
def test_errors_name_the_key(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(None, overrides)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("optim: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    bad.write_text("run:\n  seeed: 1\n")
    with pytest.raises(ConfigError, match=rf"{bad}: run.seeed: unknown key .*run.seed"):
        load_config(bad)


def test_removed_tensorboard_key(tmp_path: Path) -> None:
    """Configs saved in older model directories say `run.tensorboard: false`: they still
    load; asking for TensorBoard logging, which nothing ever wrote, is an unknown key."""
    saved = tmp_path / "config.yaml"
    saved.write_text("run:\n  seed: 7\n  tensorboard: false\n")
    assert load_config(saved).run.seed == 7
    assert "tensorboard" not in load_config(saved).to_yaml()
    with pytest.raises(ConfigError, match=r"run\.tensorboard: unknown key"):
        load_config(None, ["run.tensorboard=true"])


def test_removed_heads_section(tmp_path: Path) -> None:
    """`heads.*` only ever zeroed a head's loss: configs saved in older model directories
    (all heads on, or one off) load as the same loss weights."""
    saved = tmp_path / "config.yaml"
    saved.write_text("heads:\n  sectors: true\n  quotes: true\n  chrome: true\n")
    assert load_config(saved) == load_config(None)
    assert "heads" not in load_config(saved).to_yaml()
    saved.write_text("heads:\n  quotes: false\n  chrome: true\nloss:\n  quotes: 2.0\n")
    assert load_config(saved) == load_config(None, ["loss.quotes=0"])
