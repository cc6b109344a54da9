"""One convention for every subcommand: a description and examples in --help, --json, SPEC positional,
the same --seed default, and errors that name the option (never the Python argument)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from volterra_sym.cli.main import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
QUAD = ROOT / "derivations" / "ou2_quadratic.toml"


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


COMMANDS = sorted(_subparsers())


@pytest.mark.parametrize("name", COMMANDS)
def test_help_has_a_description_and_examples(name):
    sub = _subparsers()[name]
    assert sub.description and len(sub.description) > 80, name
    assert sub.epilog and "examples:" in sub.epilog and f"volterra-sym {name}" in sub.epilog


@pytest.mark.parametrize("name", COMMANDS)
def test_json_spec_and_seed_conventions(name):
    sub = _subparsers()[name]
    options = {opt: action for action in sub._actions for opt in action.option_strings}
    assert "--json" in options, name
    assert "--spec" not in options, f"{name}: SPEC is positional"
    positional = [a for a in sub._actions if not a.option_strings and a.dest == "spec"]
    assert positional, f"{name}: takes SPEC positionally"
    if "--seed" in options:
        assert options["--seed"].default == 0 and not options["--seed"].required


def test_errors_name_the_option(capsys):
    assert main(["kernel", str(QUAD), "--order", "1", "--lags", "-1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("volterra-sym: error: --lags: ") and err.count("\n") == 1
    assert main(["series", str(QUAD), "--input", "sin(t)", "--t", "-1", "--eps", "1"]) == 2
    assert "--t: " in capsys.readouterr().err
    assert main(["kernel", str(QUAD), "--order", "1", "--lags", "1", "--param", "nope=1"]) == 2
    assert "--param: unknown parameter" in capsys.readouterr().err


def test_every_json_answer_carries_the_version_and_the_engine(capsys):
    assert main(["kernel", str(QUAD), "--order", "1", "--lags", "0.5", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["version"] and data["engine"] == "ou"
    assert data["shape"] == [2, 1] and data["axes"] == ["output", "input_1"]
    assert main(["derive", str(QUAD), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["engine"] == "ou" and data["version"]


def _json_answers(tmp_path) -> dict[str, list[str]]:
    """One cheap --json call per subcommand (every subcommand is listed: a new one must be added)."""
    quad = str(QUAD)
    return {
        "derive": ["derive", quad],
        "kernel": ["kernel", quad, "--order", "2", "--lags", "0.5,0.2"],
        "series": ["series", quad, "--input", "sin(t)", "--t", "1", "--eps", "0.5"],
        "simulate": ["simulate", quad, "--input", "sin(t)", "--t", "0.5", "--eps", "0.5", "--paths", "200"],
        "verify": ["verify", quad, "--order", "1", "--samples", "1", "--dps", "30"],
        "generate": ["generate", quad, "-o", str(tmp_path)],
        "check": ["check", quad, "-o", str(tmp_path)],
        "report": ["report", quad, "--input", "sin(t)", "--paths", "200", "--t", "0.5", "--times", "3",
                   "--eps-list", "0.5", "--no-figures", "-o", str(tmp_path / "rep")],
        "feature": ["feature", quad, "--input", "sin(t)", "--t", "1", "--basis", "spectral", "--level", "2"],
        "represent": ["represent", quad, "--input", "sin(t)", "--t", "1", "--eps", "0.5", "--basis", "spectral",
                      "--level", "2"],
    }


#: what the "shape"/"axes" keys describe, per command that answers with arrays
_SHAPED = {"kernel": "value", "series": "terms", "simulate": "mean", "feature": "feature", "represent": "terms"}


def test_every_subcommand_answers_json_with_version_engine_shape_and_axes(tmp_path, capsys):
    import numpy

    calls = _json_answers(tmp_path)
    assert sorted(calls) == COMMANDS
    for name in ("derive", "kernel", "series", "simulate", "verify", "generate", "check", "report", "feature",
                 "represent"):  # generate before check: check reads the module generate wrote
        code = main([*calls[name], "--json"])
        out = capsys.readouterr().out
        assert code == 0, name
        data = json.loads(out)
        assert data["version"], name
        if name != "check":  # check compares stamps: no engine answers
            assert isinstance(data["engine"], str) and data["engine"], name
        if name in _SHAPED:
            assert list(numpy.shape(data[_SHAPED[name]])) == data["shape"], name
            assert len(data["axes"]) == len(data["shape"]), name
