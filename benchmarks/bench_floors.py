"""Each performance goal of the project as a ratio against its baseline measured in the same run.

    python benchmarks/bench_floors.py [--quick] [--repeat 5] [--only series,kernel,...]

The machine may be shared: every figure is the minimum over ``--repeat`` runs, and the goals are
ratios of two timings taken side by side, so that load cancels out to first order. Sections:

* ``derive``  - closed forms of every kernel component (3 units order 3; 4 and 8 units order 4) against
  the previous route (expand every contraction, then powsimp + collect, discarding forms over 400
  terms), measured on the same kernel set; cost growth with units and order.
* ``series``  - the generated module's ``series`` (resummed: first-order states + symmetric moment
  contraction) against the resummed floor: n first-order recurrences by ``scipy.signal.lfilter`` in
  the eigenbasis plus the same contraction written directly; growth with T (linear: x10 T -> ~x10).
* ``kernel``  - the generated ``kernel(n, ...)`` against the same propagator and contraction with no
  checks and no chunking, returning the same C-contiguous layout (``bare``), and against an einsum
  contraction (``einsum``).
* ``startup`` - a trivial ``volterra-sym kernel`` query against ``python -c "import sympy, numpy"``.
* ``simulate``- a short run (t = 1) of the scalar tanh network started exactly in its invariant law
  against a plain NumPy loop of the same Heun scheme with the same paths; growth with paths; the
  same run on a 2-worker local Dask cluster (bit-identical numbers; cluster start-up excluded).
* ``verify``  - CPU seconds of ``verify`` (ou3_cubic, tanh1_scalar) and of a fixed mpmath workload
  (the unit: 200 50-digit 6x6 matrix exponentials), so the ratio is comparable across loads.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def best(func, repeat: int) -> float:
    out = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        out = min(out, time.perf_counter() - start)
    return out


def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------------------------- derive


def _old_tidy(expr):
    """The route before issue 15: expand everything, keep it only if it has <= 400 terms."""
    import sympy

    expanded = sympy.expand(expr)
    if len(sympy.Add.make_args(expanded)) > 400:
        return expr
    combined = sympy.powsimp(expanded, combine="exp")
    factors = sorted(combined.atoms(sympy.exp), key=sympy.default_sort_key)
    return sympy.collect(combined, factors) if factors else combined


def random_spec(n: int, order: int, seed: int = 0):
    from volterra_sym import parse_spec

    rng = numpy.random.default_rng(seed)
    W = numpy.round(rng.normal(scale=0.3, size=(n, n)), 2)
    readout = " + ".join(f"h{i + 1}**3" for i in range(n)) + " + h1*h2" + (" + h1**2*h2**2" if order >= 4 else "")
    return parse_spec({"name": f"random{n}", "model": {
        "activation": "linear", "Gamma": numpy.diag(numpy.full(n, 1.5)).tolist(), "W": W.tolist(),
        "b": numpy.round(rng.normal(size=n), 2).tolist(), "C": numpy.round(rng.normal(size=(n, 2)), 2).tolist(),
        "sigma": (0.5 * numpy.eye(n)).tolist(), "readout": [readout]}, "expansion": {"order": order}})


def bench_derive(repeat: int, quick: bool) -> None:
    from volterra_sym import build_model, derive_kernels, kernel_expression, kernel_expressions, load_spec

    print("derive: every closed form of every order (new) vs the previous expand+collect route on the same set")
    cases = [("ou3_cubic", load_spec(ROOT / "derivations" / "ou3_cubic.toml"), 3),
             ("random 3 units", random_spec(3, 3), 3), ("random 4 units", random_spec(4, 4), 4),
             ("random 8 units", random_spec(8, 4), 4)]
    if quick:
        cases = cases[:2]
    for label, spec, order in cases:
        model = build_model(spec)

        def new():
            kset = derive_kernels(model, order=order)
            for k in range(1, order + 1):
                kernel_expressions(kset, k)
            return kset

        t_new = best(new, repeat)
        kset = new()
        keys = [(q, idx) for k in range(1, order + 1) for q in range(model.n_outputs)
                for idx in itertools.product(range(model.n_inputs), repeat=k)]
        t_law = best(lambda: derive_kernels(model, order=order), 1)
        t_old_forms = best(lambda: [_old_tidy(kernel_expression(kset, q, idx, tidy=False)) for q, idx in keys],
                           1 if order >= 4 else repeat)
        t_new_forms = max(t_new - t_law, 1e-9)
        print(f"  {label:15s} order {order} [{kset.propagator.method}]: derive {t_new:7.2f} s "
              f"(closed forms {t_new_forms:6.2f} s; previous route's forms {t_old_forms:7.2f} s, "
              f"ratio {t_new_forms / t_old_forms:.3f})")


# ----------------------------------------------------------------------------------------- series


def resummed_floor(A, C, moments, step_operators, u, dt, eps, order):
    """lfilter in the eigenbasis of E = e^{A dt} + the symmetric contraction, written directly."""
    import scipy.signal

    E, Pa, Pb = step_operators(A, dt)
    lam, V = numpy.linalg.eig(E)
    Vinv = numpy.linalg.inv(V)
    v = numpy.einsum("im,tm->it", C, u)
    x = numpy.einsum("ij,jt->it", Pa, v[:, :-1]) + numpy.einsum("ij,jt->it", Pb, v[:, 1:])
    y = numpy.einsum("ij,jt->it", Vinv, x)
    z = numpy.empty_like(y)
    for k in range(len(lam)):
        if lam[k].imag == 0:
            z[k] = scipy.signal.lfilter([1.0], [1.0, -lam[k].real], y[k].real)
        else:
            z[k] = scipy.signal.lfilter([1.0], [1.0, -lam[k]], y[k])
    delta = numpy.einsum("ij,jt->it", V, z).real
    T, p, n = u.shape[0], moments[0].shape[0], A.shape[0]
    out = numpy.empty((order + 1, T, p))
    out[0] = moments[0]
    out[1:, 0] = 0.0
    products = {}
    for k in range(1, order + 1):
        alphas = list(itertools.combinations_with_replacement(range(n), k))
        X = numpy.empty((len(alphas), T - 1))
        W = numpy.empty((p, len(alphas)))
        for r, a in enumerate(alphas):
            X[r] = delta[a[-1]] if k == 1 else products[a[:-1]] * delta[a[-1]]
            products[a] = X[r]
            W[:, r] = moments[k][(slice(None),) + a] * eps**k / math.prod(math.factorial(a.count(i)) for i in set(a))
        out[k, 1:] = numpy.einsum("qr,rt->tq", W, X)
    return out


def bench_series(repeat: int, quick: bool) -> None:
    module = load_module(ROOT / "derivations" / "ou3_cubic.py", "ou3_cubic_bench")
    model = module._model("series", {})
    print("series (ou3_cubic, order 3): generated module vs the resummed floor (lfilter + contraction)")
    sizes = (10**4, 10**5) if quick else (10**4, 10**5, 10**6)
    rng = numpy.random.default_rng(0)
    previous = None
    for T in sizes:
        u = numpy.cumsum(rng.normal(size=(T, module.N_INPUTS)), axis=0) * 0.01
        ours = module.series(u, 0.01, eps=0.5)
        floor = resummed_floor(model.A, model.C, model.moments, module._step_operators, u, 0.01, 0.5, 3)
        gap = numpy.abs(ours - floor).max() / numpy.abs(floor).max()
        t_ours = best(lambda: module.series(u, 0.01, eps=0.5), repeat)
        t_floor = best(lambda: resummed_floor(model.A, model.C, model.moments, module._step_operators, u, 0.01, 0.5, 3),
                       repeat)
        growth = f", x{t_ours / previous:.1f} for x10 T" if previous else ""
        previous = t_ours
        print(f"  T = {T:>8d}: module {t_ours * 1e3:8.1f} ms ({t_ours / T * 1e9:5.0f} ns/sample), floor "
              f"{t_floor * 1e3:8.1f} ms, ratio {t_ours / t_floor:.2f}{growth}; max relative difference {gap:.1e}")


# ----------------------------------------------------------------------------------------- kernel


def bench_kernel(repeat: int, quick: bool) -> None:
    module = load_module(ROOT / "derivations" / "ou3_cubic.py", "ou3_cubic_kernel")
    model = module._model("kernel", {})
    A, C, Ms = model.A, model.C, model.moments
    nh, m = C.shape
    subscripts = {1: "qi,Pia->Pqa", 2: "qij,Pia,Pjb->Pqab", 3: "qijl,Pia,Pjb,Plc->Pqabc"}

    def bare(n, *lags):
        sig = numpy.cumsum(numpy.stack(lags), axis=0)
        M, count = Ms[n], sig.shape[1]
        D = [numpy.ascontiguousarray(numpy.moveaxis(module._propagator(s, A) @ C, 0, -1)) for s in sig]
        X = M.reshape(-1, nh) @ D[-1].reshape(nh, -1)
        for j in range(n - 2, -1, -1):
            X = X.reshape(-1, nh, 1, m ** (n - 1 - j), count)
            X = (X * D[j][None, :, :, None, :]).sum(axis=1)
        # the module's layout: C-contiguous, lag axis first
        return numpy.ascontiguousarray(numpy.moveaxis(X.reshape((M.shape[0],) + (m,) * n + (count,)), -1, 0))

    def einsum(n, *lags):
        sig = numpy.cumsum(numpy.stack(lags), axis=0)
        D = [numpy.einsum("Pil,lk->Pik", module._propagator(s, A), C) for s in sig]
        return numpy.einsum(subscripts[n], Ms[n], *D, optimize=True)

    points = 10**5 if quick else 10**6
    rng = numpy.random.default_rng(0)
    print(f"kernel(n, ...) of ou3_cubic on {points} lag points: generated module vs bare / einsum evaluations")
    for n in (1, 2, 3):
        lags = [rng.uniform(0, 3, points) for _ in range(n)]
        assert numpy.allclose(module.kernel(n, *lags), bare(n, *lags), rtol=1e-12, atol=1e-14)
        t_mod = best(lambda: module.kernel(n, *lags), repeat)
        t_bare = best(lambda: bare(n, *lags), repeat)
        t_ein = best(lambda: einsum(n, *lags), max(1, repeat // 2))
        print(f"  n = {n}: module {t_mod / points * 1e9:6.0f} ns/point, bare {t_bare / points * 1e9:6.0f} "
              f"(ratio {t_mod / t_bare:.2f}), einsum {t_ein / points * 1e9:6.0f} (ratio {t_mod / t_ein:.2f})")


# ----------------------------------------------------------------------------------------- start-up


def bench_startup(repeat: int, quick: bool) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    query = [sys.executable, "-m", "volterra_sym", "kernel", str(ROOT / "derivations" / "ou3_cubic.toml"),
             "--order", "1", "--lags", "0.3", "--json"]
    base = [sys.executable, "-c", "import sympy, numpy"]
    t_query = best(lambda: subprocess.run(query, env=env, check=True, capture_output=True), repeat)
    t_base = best(lambda: subprocess.run(base, env=env, check=True, capture_output=True), repeat)
    print(f"start-up: `kernel ou3_cubic --order 1 --lags 0.3 --json` {t_query:.2f} s; `import sympy, numpy` "
          f"{t_base:.2f} s (ratio {t_query / t_base:.2f}, difference {t_query - t_base:.2f} s)")


# ----------------------------------------------------------------------------------------- simulate


def plain_heun(Gamma, W, b, C, sigma, readout, h0, u, dt, steps, eps, rng):
    """The Heun scheme in a plain NumPy loop (same random numbers per path and step)."""
    h = h0
    for i in range(steps):
        z = rng.standard_normal(h.shape)
        noise = sigma * numpy.sqrt(dt) * z
        f0 = -Gamma * h + numpy.tanh(W * h + b) + eps * C * u[i]
        g = h + f0 * dt + noise
        f1 = -Gamma * g + numpy.tanh(W * g + b) + eps * C * u[i + 1]
        h = h + (f0 + f1) * dt / 2 + noise
    return readout(h).mean()


def bench_simulate(repeat: int, quick: bool) -> None:
    from volterra_sym import build_model, load_spec
    from volterra_sym.classes.registry import engine_for
    from volterra_sym.network import numeric_srnn
    from volterra_sym.simulate import simulate

    model = build_model(load_spec(ROOT / "derivations" / "nonlinear" / "tanh1_scalar.toml"))
    engine = engine_for(model)
    sampler = engine.stationary_sampler()
    net = numeric_srnn(model, engine.values)
    Gamma, W, b = float(net.Gamma[0, 0]), float(net.W[0, 0]), float(net.b[0])
    C, sigma = float(net.C[0, 0]), float(net.sigma[0, 0])
    dt, t = 0.01, 1.0
    steps = round(t / dt)
    grid = numpy.arange(steps + 1) * dt

    def u(times):
        return numpy.sin(numpy.asarray(times))[:, None]

    print("simulate, scalar tanh network, t = 1, exact start (no burn-in): simulate vs a plain NumPy Heun loop")
    for paths in ((10**4,) if quick else (10**4, 10**5)):
        def ours():
            return simulate(net, u, t=t, eps=1.0, paths=paths, seed=0, dt=dt, start=sampler, record_every=steps)

        def plain():
            rng = numpy.random.default_rng(0)
            h0 = sampler(rng, paths)[:, 0]
            return plain_heun(Gamma, W, b, C, sigma, numpy.tanh, h0, numpy.sin(grid), dt, steps, 1.0, rng)

        t_ours, t_plain = best(ours, repeat), best(plain, repeat)
        print(f"  {paths:>7d} paths: simulate {t_ours:.3f} s, plain loop {t_plain:.3f} s, ratio {t_ours / t_plain:.2f} "
              f"({paths * steps / t_ours:.2e} path-steps/s)")
    try:
        import distributed
    except ImportError:
        print("  (dask.distributed not installed: the cluster row is skipped)")
        return
    paths = 4 * 4096 if quick else 16 * 4096
    serial = simulate(net, u, t=t, eps=1.0, paths=paths, seed=0, dt=dt, start=sampler, chunk_size=4096)
    t_serial = best(lambda: simulate(net, u, t=t, eps=1.0, paths=paths, seed=0, dt=dt, start=sampler, chunk_size=4096),
                    max(1, repeat // 2))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        parallel = simulate(net, u, t=t, eps=1.0, paths=paths, seed=0, dt=dt, start=sampler, chunk_size=4096,
                            client=client)
        t_par = best(lambda: simulate(net, u, t=t, eps=1.0, paths=paths, seed=0, dt=dt, start=sampler,
                                      chunk_size=4096, client=client), max(1, repeat // 2))
    same = numpy.array_equal(serial.mean, parallel.mean) and numpy.array_equal(serial.stderr, parallel.stderr)
    print(f"  {paths} paths on a 2-worker local Dask cluster: {t_par:.2f} s vs serial {t_serial:.2f} s "
          f"(speed-up {t_serial / t_par:.2f}x on this machine's free cores); bit-identical: {same}")


# ----------------------------------------------------------------------------------------- verify


def bench_verify(repeat: int, quick: bool) -> None:
    import mpmath

    from volterra_sym.verification.runner import verify_spec

    def unit():
        with mpmath.workdps(50):
            A = mpmath.matrix([[mpmath.mpf(i - j) / 7 for j in range(6)] for i in range(6)])
            for k in range(200):
                mpmath.expm(A * (k + 1) / 100)

    def cpu(func) -> float:
        start = time.process_time()
        func()
        return time.process_time() - start

    t_unit = min(cpu(unit) for _ in range(max(1, repeat // 2)))
    print(f"verify, CPU seconds (process time; the unit is a fixed mpmath workload: {t_unit:.2f} s here)")
    specs = ["derivations/ou3_cubic.toml"] + ([] if quick else ["derivations/nonlinear/tanh1_scalar.toml"])
    for spec in specs:
        t = min(cpu(lambda: verify_spec(ROOT / spec)) for _ in range(1 if "nonlinear" in spec else 2))
        print(f"  {spec}: {t:.2f} s CPU ({t / t_unit:.1f} units)")


SECTIONS = {"derive": bench_derive, "series": bench_series, "kernel": bench_kernel, "startup": bench_startup,
            "simulate": bench_simulate, "verify": bench_verify}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", default=",".join(SECTIONS))
    args = parser.parse_args()
    for name in args.only.split(","):
        SECTIONS[name.strip()](args.repeat, args.quick)


if __name__ == "__main__":
    main()
