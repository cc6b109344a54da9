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
