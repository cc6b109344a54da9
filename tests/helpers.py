"""Toy specs and a tiny TOML writer for tests (the package only reads TOML)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

QUADRATIC = {
    "name": "toy",
    "description": "toy",
    "model": {
        "activation": "linear",
        "Gamma": [[1.5, 0.0], [0.0, 1.0]],
        "W": [[0.0, 0.5], [-0.3, 0.0]],
        "b": [0.1, -0.2],
        "C": [[1.0], [0.5]],
        "sigma": [[0.8, 0.0], [0.1, 0.6]],
        "readout": ["h1**2 + h1*h2", "h2"],
    },
    "expansion": {"order": 2},
}


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(type(v))


def to_toml(data: dict[str, Any]) -> str:
    lines = [f"{k} = {_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for k, v in data.items():
        if isinstance(v, dict):
            lines.append(f"[{k}]")
            lines.extend(f"{kk} = {_value(vv)}" for kk, vv in v.items())
    return "\n".join(lines) + "\n"


def write_spec(tmp_path: Path, data: dict[str, Any], name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(to_toml(data))
    return path


def with_model(**changes: Any) -> dict[str, Any]:
    """QUADRATIC with [model] keys replaced (None deletes a key)."""
    model = dict(QUADRATIC["model"])
    for k, v in changes.items():
        if v is None:
            model.pop(k, None)
        else:
            model[k] = v
    return {**QUADRATIC, "model": model}


def spec_input(spec, texts, params=None):
    """u(times) from expressions in t, with the spec's parameters at ``params`` (defaults otherwise)."""
    from volterra_sym.inputs import input_signal

    values = dict(spec.defaults) | dict(params or {})
    return input_signal(texts, n_inputs=spec.n_inputs, parameters=spec.parameters, values=values)
