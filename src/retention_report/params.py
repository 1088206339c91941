"""Report parameters: params/default.yaml, overridden by params/<PERIOD>.yaml and an explicit file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PARAMS_DIR = PROJECT_ROOT / "params"


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read(path: Path) -> dict:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: expected a mapping of parameter names to values.")
    return loaded


def load_params(period_label: str | None = None, extra: Path | None = None,
                params_dir: Path = DEFAULT_PARAMS_DIR) -> dict[str, Any]:
    """The parameters in force for a period: defaults, then the period's file, then `extra`."""
    params = _read(params_dir / "default.yaml")
    if period_label:
        period_file = params_dir / f"{period_label}.yaml"
        if period_file.exists():
            params = _merge(params, _read(period_file))
    if extra is not None:
        params = _merge(params, _read(Path(extra)))
    return params


def kind_categories(params: dict) -> dict[str, str]:
    """Touchpoint kind -> category, from the category map."""
    return {kind: category for category, kinds in params["touchpoint_categories"].items() for kind in kinds}
