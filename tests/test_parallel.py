"""Scale-out on Dask: the same numbers as the serial run whatever the workers; exact starts; refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy
import pytest

from volterra_sym import build_model, load_spec
from volterra_sym.classes.registry import engine_for
from volterra_sym.cli.main import main
from volterra_sym.errors import InputError
from volterra_sym.parallel import map_chunks, open_client
from volterra_sym.simulate import BLOCK, simulate, simulate_responses

ROOT = Path(__file__).resolve().parent.parent
DERIV = ROOT / "derivations"
TANH1 = DERIV / "nonlinear" / "tanh1_scalar.toml"
TANH2 = DERIV / "nonlinear" / "tanh2_reversible.toml"


def _cli_json(*argv: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "volterra_sym", *argv], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_cli_workers_print_the_serial_numbers(capsys):
    # 2 * BLOCK + 5 paths: two chunks (full blocks, then the partial block) on two worker processes;
    # the nonlinear network ships its exact-start sampler to the workers
    argv = [str(TANH1), "--input", "sin(t)", "--t", "0.3", "--eps", "1", "--paths", str(2 * BLOCK + 5),
            "--seed", "7", "--json"]
    assert main(["simulate", *argv]) == 0
    serial = json.loads(capsys.readouterr().out)
    assert serial["start"] == "exact" and serial["burn_in"] == 0
    distributed = _cli_json("simulate", *argv, "--workers", "2")
    assert distributed == serial


def test_client_api_is_bit_identical_to_serial():
    distributed = pytest.importorskip("distributed")
    model = build_model(load_spec(DERIV / "ou3_cubic.toml"))

    def u(t):
        return numpy.stack([numpy.sin(t), numpy.cos(2 * t)], axis=1)

    kwargs = dict(t=0.2, eps=[0.5, 1.0], paths=3 * BLOCK + 11, seed=3, chunk_size=BLOCK)
    serial = simulate_responses(model, u, **kwargs)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        parallel = simulate_responses(model, u, client=client, **kwargs)
        mapped = map_chunks(lambda shared, chunk, tick: shared + chunk, 100, list(range(20)), client=client)
    for name in ("mean", "stderr", "response", "response_stderr"):
        assert numpy.array_equal(getattr(serial, name), getattr(parallel, name)), name
    assert mapped == [100 + i for i in range(20)]


def test_missing_dask_is_one_line_naming_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(InputError, match=r"volterra-sym\[dask\]"):
        with open_client(workers=2):
            pass
    status = main(["simulate", str(DERIV / "ou2_quadratic.toml"), "--input", "sin(t)", "--t", "0.1", "--eps", "1",
                   "--paths", "10", "--workers", "2"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "--workers" in err and "volterra-sym[dask]" in err


def test_workers_and_scheduler_are_exclusive_and_checked():
    with pytest.raises(InputError, match="not both"):
        with open_client(workers=2, scheduler="tcp://127.0.0.1:1"):
            pass
    with pytest.raises(InputError, match="workers"):
        with open_client(workers=0):
            pass
    with pytest.raises(InputError, match="client must be"):
        map_chunks(lambda s, c, t: c, None, [1], client=object())


# ------------------------------------------------------------------------ exact start (gradient class)


@pytest.mark.parametrize("path", [TANH1, pytest.param(TANH2, marks=pytest.mark.slow)], ids=["1 unit", "2 units"])
def test_gradient_sampler_draws_the_invariant_law(path):
    model = build_model(load_spec(path))
    engine = engine_for(model)
    sampler = engine.stationary_sampler()
    x = sampler(numpy.random.default_rng(5), 200_000)
    assert x.shape == (200_000, model.n_hidden) and numpy.all(numpy.isfinite(x))
    assert numpy.array_equal(x[:10], sampler(numpy.random.default_rng(5), 10))  # seeded, prefix-stable
    net_out = [numpy.broadcast_to(f(*x.T), (len(x),)) for f in _readouts(model, engine.values)]
    reference = engine.stationary_mean().value  # spectral route: shares no code with the grid sampler
    for q, v in enumerate(net_out):
        z = (v.mean() - reference[q]) / (v.std() / numpy.sqrt(len(v)))
        assert abs(z) < 4.5, (q, z)


def _readouts(model, values):
    from volterra_sym.network import numeric_srnn

    return numeric_srnn(model, values).readout


def test_exact_start_needs_no_burn_in_and_is_stationary():
    model = build_model(load_spec(TANH1))
    engine = engine_for(model)
    res = simulate(model, None, t=0.5, eps=0.0, paths=20_000, seed=2, start=engine.stationary_sampler())
    assert res.burn_in == 0
    z = (res.mean - engine.stationary_mean().value) / res.stderr
    assert numpy.abs(z).max() < 4.5


def test_start_sampler_is_checked():
    model = build_model(load_spec(TANH1))
    with pytest.raises(InputError, match="shape"):
        simulate(model, None, t=0.1, eps=0.0, paths=10, seed=0, start=lambda rng, size: numpy.zeros((size, 3)))
    with pytest.raises(InputError, match="callable"):
        simulate(model, None, t=0.1, eps=0.0, paths=10, seed=0, start=3)
