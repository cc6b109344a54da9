"""The worked example examples/train_readout.py, reduced so that it runs in a few seconds."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import oracles
import pytest

from volterra_sym import build_model, derive_kernels, load_spec, numeric_kernels

pytest.importorskip("sklearn")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("train_readout", ROOT / "examples" / "train_readout.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_targets_are_the_exact_mean_output(example) -> None:
    spec = load_spec(example.SPEC)
    nk = numeric_kernels(derive_kernels(build_model(spec), order=3))
    amp, phase = example.random_inputs(np.random.default_rng(20240611), 2)
    horizon, eps = 3.0, 0.5
    targets = example.exact_targets(nk, amp, phase, horizon, eps)
    system = oracles.system_from_spec(spec)
    for b in range(2):
        delta = oracles.delta(system, lambda s, b=b: example.evaluate_inputs(amp[b : b + 1], phase[b : b + 1],
                                                                             np.atleast_1d(s))[0, 0], horizon)
        np.testing.assert_allclose(targets[b], oracles.gaussian_expectation(system, eps * delta), rtol=1e-10)


def test_reduced_example_learns_the_readout(example) -> None:
    figures = example.run(n_train=80, n_test=40, horizon=4.0, dt=0.1, verbose=False)
    assert min(figures["r2"]) > 0.99
    assert min(figures["r2_vs_true_readout"]) > 0.99
    # the true readout functional <l, Phi(u)> reproduces the exact targets
    assert max(figures["true_readout_vs_targets"]) < 1e-9
    assert max(figures["max_abs_error"]) < 0.05 * min(figures["target_std"])


def test_main_exit_status(example, capsys) -> None:
    assert example.main(["--train", "40", "--test", "20", "--t", "3", "--dt", "0.1"]) == 0
    assert "held-out R^2" in capsys.readouterr().out
