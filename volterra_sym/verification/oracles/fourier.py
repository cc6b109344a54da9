"""Independent numerical routes for gradient-class networks, for ``verify`` (theory.md 3c and 5).

Nothing here reads a :class:`~volterra_sym.spectral.SpectralKernels`: every route starts from the
symbolic law (:func:`volterra_sym.gradient.gradient_law`: potential U, drift F, conjugates A_k) at
numeric parameter values, and never diagonalises the generator.

Schroedinger form. With psi_0 = exp(-(U - U_min)/s^2) (so psi_0^2 ~ rho_inf) and psi = psi_0 g,

    P_tau g = psi_0^{-1} e^{-tau H} (psi_0 g),   H = -1/2 s^2 Laplacian + V,   V = |F|^2/(2 s^2) + 1/2 div F,
    psi_0 C_k . grad g = Bt_k (psi_0 g),          Bt_k w = C_k . grad w - w C_k . F / s^2,

and for an input inside the activation C_k is the vector field b_k(h) = a'(W h + b) o C_k (theory.md 7),
with the conjugate A_k = -rho^-1 div(rho b_k) of the law. So the correlation form of the kernels
(theory.md 3c) is a chain of heat-semigroup actions,

    R^(n)_{f;k_1..k_n}(tau) = < psi_0 A_{k_n}, e^{-tau_n H} Bt_{k_{n-1}} ... Bt_{k_1} e^{-tau_1 H} (psi_0 f) >,

and, for an additive input, the reversible FDT (theory.md 5) reads R^(1)_{f;k}(tau) = -(2/s^2) d/dtau < psi_0 C_k . h, e^{-tau H} psi_0 f >.

* :class:`FourierCorrelation` (float64, any number of hidden units): Fourier collocation of H on a
  box where rho_inf/rho_max < e^{-2 kappa}, derivatives by FFT, psi_0 from the symbolic potential
  (not an eigenvector), e^{-tau H} w by Lanczos with full reorthogonalisation (a Krylov approximation
  refined until two successive sizes agree).
* :class:`MpFourierKrylov` (mpmath, one hidden unit): the same collocation at ``dps`` digits with
  shift-and-invert Lanczos on (H + sigma)^{-1} (its convergence does not degrade with the grid's
  stiffness), bilinear forms by Gauss quadrature of the polarised spectral measures.
* :func:`mp_density_means`: <g>_inf for symbolic g by mpmath quadrature of the normalised
  symbolic density (``mpmath.quad`` on the real line in 1-D, a trapezoidal rule on a box with a
  resolution ladder in 2-D).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence

import mpmath
import numpy
import sympy

from ...classes.gradient.law import GradientLaw
from .gaussian_path import NoOracle
from .numeric_law import law_function, level_box, level_crossing, numeric_law, to_mpf

__all__ = ["FourierCorrelation", "MpFourierKrylov"]


# --- Lanczos approximation of e^{-tau H} w ----------------------------------------------------------


class _Krylov:
    """Lanczos basis of a symmetric operator from one start vector (float64, full reorthogonalisation).

    ``vector(tau)`` is e^{-tau H} w from the basis, grown in blocks until the coefficients at two
    successive sizes agree to ``tol`` relative to |w|.
    """

    BLOCK = 16

    def __init__(self, matvec, w: numpy.ndarray, *, tol: float = 1e-14, max_size: int = 600):
        self.matvec = matvec
        self.beta0 = float(numpy.linalg.norm(w))
        self.length = len(w)
        self.Q = [w / self.beta0] if self.beta0 > 0 else []
        self.alpha: list[float] = []
        self.beta: list[float] = []
        self.tol = tol
        self.max_size = max_size
        self.exhausted = self.beta0 == 0
        self.sizes: dict[float, int] = {}

    def _grow(self, steps: int) -> None:
        for _ in range(steps):
            if self.exhausted or len(self.alpha) >= self.max_size:
                return
            q = self.Q[-1]
            z = self.matvec(q)
            a = float(q @ z)
            z = z - a * q
            if self.beta:
                z = z - self.beta[-1] * self.Q[-2]
            basis = numpy.array(self.Q)
            for _ in range(2):  # full reorthogonalisation, twice is enough
                z = z - basis.T @ (basis @ z)
            self.alpha.append(a)
            b = float(numpy.linalg.norm(z))
            if b <= 1e-13 * max(1.0, abs(a)):
                self.exhausted = True  # an invariant subspace: the approximation is exact
                return
            self.beta.append(b)
            self.Q.append(z / b)

    def _coefficients(self, tau: float, size: int) -> numpy.ndarray:
        T = numpy.diag(self.alpha[:size]) + numpy.diag(self.beta[: size - 1], 1) + numpy.diag(self.beta[: size - 1], -1)
        theta, Z = numpy.linalg.eigh(T)
        return self.beta0 * (Z @ (numpy.exp(-tau * theta) * Z[0]))

    def vector(self, tau: float) -> numpy.ndarray:
        if self.beta0 == 0:
            return numpy.zeros(self.length)
        if not self.alpha:
            self._grow(self.BLOCK)
        while True:
            size = len(self.alpha)
            current = self._coefficients(tau, size)
            if self.exhausted:
                break
            previous = self._coefficients(tau, max(1, size - self.BLOCK // 2))
            change = numpy.linalg.norm(current[: len(previous)] - previous) + numpy.linalg.norm(current[len(previous):])
            if change <= self.tol * self.beta0:
                break
            if size >= self.max_size:
                raise NoOracle(f"Lanczos approximation of e^(-tau H) did not converge at tau = {tau} "
                               f"({size} vectors, change {change / self.beta0:.1e})")
            self._grow(self.BLOCK)
        self.sizes[tau] = len(self.alpha)
        basis = numpy.array(self.Q[: len(current)])
        return basis.T @ current


# --- float64 Fourier-collocation route (any n) --------------------------------------------------------


class FourierCorrelation:
    """Correlation form of the kernels and the FDT derivative form, float64 (module docstring).

    Parameters
    ----------
    law : GradientLaw
    values : mapping
        Parameter values.
    nodes : int, optional
        Grid points per axis (default 160 in 1-D, 72 in 2-D, 28 in 3-D).
    kappa : float
        The box contains {U - U_min < kappa s^2}, so psi_0 < e^{-kappa} outside it.
    """

    DEFAULT_NODES = {1: 160, 2: 72, 3: 28}

    def __init__(self, law: GradientLaw, values: Mapping[str, float], *, nodes: int | None = None,
                 kappa: float = 21.0):
        nl = numeric_law(law, values)
        n = nl.n
        if n not in self.DEFAULT_NODES:
            raise NoOracle(f"the Fourier correlation route handles 1 to 3 hidden units, not {n}")
        self.nl = nl
        self.n = n
        N = nodes or self.DEFAULT_NODES[n]
        self.N = N
        _, box = level_box(nl, kappa)
        self.box = box
        axes, self.k1, self.k2 = [], [], []
        dV = 1.0
        for lo, hi in box:
            length = hi - lo
            axes.append(lo + numpy.arange(N) * length / N)
            k = numpy.fft.fftfreq(N, d=length / N) * 2 * numpy.pi
            k1 = k.copy()
            k1[N // 2] = 0.0  # the Nyquist mode has no real first derivative
            self.k1.append(k1)
            self.k2.append(-(k**2))
            dV *= length / N
        self.dV = dV
        self.grid = numpy.meshgrid(*axes, indexing="ij")
        self.s2 = float(nl.s2)
        self.F = numpy.stack([law_function(nl, e)(*self.grid) for e in nl.drift])
        V = (self.F**2).sum(axis=0) / (2 * self.s2) + law_function(nl, nl.divergence)(*self.grid) / 2
        U = law_function(nl, nl.potential)(*self.grid)
        psi0 = numpy.exp(-(U - U.min()) / self.s2)
        psi0 /= numpy.sqrt((psi0**2).sum() * dV)
        self.V, self.psi0 = V, psi0
        self.C = numpy.array(nl.C.evalf(20).tolist(), dtype=numpy.float64)
        # b_k(h) on the grid (constant C_k for an additive input), shape (m, n) + grid
        self.fields = numpy.stack([numpy.stack([law_function(nl, b)(*self.grid) for b in field])
                                   for field in nl.input_fields]) if nl.inside else None
        if not (numpy.all(numpy.isfinite(V)) and numpy.all(numpy.isfinite(self.F))):
            raise NoOracle("drift or potential is not finite on the collocation box")
        self.f = [psi0 * law_function(nl, e)(*self.grid) for e in nl.readout]
        self.a = [psi0 * law_function(nl, e)(*self.grid) for e in nl.conjugates]
        self.x = [psi0 * law_function(nl, nl.observable(k))(*self.grid) for k in range(self.C.shape[1])]
        self._krylov: dict = {}

    # operators on grid functions (arrays of shape (N,) * n)
    def _d(self, w: numpy.ndarray, axis: int, symbol: list[numpy.ndarray]) -> numpy.ndarray:
        shape = [1] * self.n
        shape[axis] = -1
        return numpy.real(numpy.fft.ifft(symbol[axis].reshape(shape) * numpy.fft.fft(w, axis=axis), axis=axis))

    def H(self, w: numpy.ndarray) -> numpy.ndarray:
        lap = sum(self._d(w, d, self.k2) for d in range(self.n))
        return -0.5 * self.s2 * lap + self.V * w

    def input_operator(self, w: numpy.ndarray, k: int) -> numpy.ndarray:
        """Bt_k w = C_k . grad w - w C_k . F / s^2 (psi_0 C_k . grad g for w = psi_0 g); C_k is the field
        b_k(h) for an input inside the activation."""
        c = (lambda d: self.C[d, k]) if self.fields is None else (lambda d: self.fields[k, d])
        grad = sum(c(d) * self._d(w, d, [1j * k1 for k1 in self.k1]) for d in range(self.n))
        drift = sum(c(d) * self.F[d] for d in range(self.n))
        return grad - w * drift / self.s2

    def _matvec(self, flat: numpy.ndarray) -> numpy.ndarray:
        return self.H(flat.reshape((self.N,) * self.n)).ravel()

    def krylov(self, key, w: numpy.ndarray) -> _Krylov:
        if key not in self._krylov:
            self._krylov[key] = _Krylov(self._matvec, w.ravel())
        return self._krylov[key]

    def evolve(self, key, w: numpy.ndarray, tau: float) -> numpy.ndarray:
        if tau == 0:
            return w
        return self.krylov(key, w).vector(float(tau)).reshape(w.shape)

    def inner(self, a: numpy.ndarray, b: numpy.ndarray) -> float:
        return float((a * b).sum() * self.dV)

    def mean(self, q: int) -> float:
        """<f_q>_inf on the grid."""
        return self.inner(self.psi0, self.f[q])

    def kernel(self, q: int, indices: Sequence[int], lags: Sequence[float]) -> float:
        """R^(n)_{f_q; k_1..k_n}(tau_1..tau_n) in the correlation form (last step by the conjugate A)."""
        n = len(lags)
        if n == 0:
            return self.mean(q)
        w, key = self.f[q], ("f", q)
        for j in range(n - 1):
            w = self.input_operator(self.evolve(key, w, lags[j]), indices[j])
            key = key + ((float(lags[j]), indices[j]),)
        # < psi_0 A, e^{-tau H} w > = < e^{-tau H/2} psi_0 A, e^{-tau H/2} w >: both Krylov spaces shared
        half = float(lags[-1]) / 2
        k = indices[-1]
        return self.inner(self.evolve(("a", k), self.a[k], half), self.evolve(key, w, half))

    def correlation(self, q: int, k: int, tau: float) -> float:
        """E_inf[ f_q(h_tau) C_k . h_0 ]."""
        half = float(tau) / 2
        return self.inner(self.evolve(("x", k), self.x[k], half), self.evolve(("f", q), self.f[q], half))

    def fdt_response(self, q: int, k: int, tau: float) -> float:
        """-(2/s^2) d/dtau E_inf[f_q(h_tau) C_k . h_0], the derivative exact on the Krylov representation:
        d/dtau <e^{-tau H/2} x, e^{-tau H/2} v> = -1/2 (<H X, V> + <X, H V>)."""
        half = float(tau) / 2
        X = self.evolve(("x", k), self.x[k], half)
        Vq = self.evolve(("f", q), self.f[q], half)
        derivative = -0.5 * (self.inner(self.H(X), Vq) + self.inner(X, self.H(Vq)))
        return -2.0 / self.s2 * derivative

    def edge_mass(self) -> float:
        """Largest psi_0^2 on the box boundary relative to its maximum (truncation of the box)."""
        rho = self.psi0**2
        edge = 0.0
        for d in range(self.n):
            edge = max(edge, float(numpy.take(rho, 0, axis=d).max()), float(numpy.take(rho, -1, axis=d).max()))
        return edge / float(rho.max())


# --- mpmath Fourier collocation with shift-and-invert Lanczos (one hidden unit) ---------------------


class _MpLanczos:
    """Lanczos on the shifted inverse (H + sigma)^{-1} from one start vector, in mpmath."""

    def __init__(self, solve, w: list, size: int):
        ctx = mpmath.mp
        beta0 = ctx.sqrt(ctx.fdot(w, w))
        self.beta0 = beta0
        Q = [[x / beta0 for x in w]]
        alpha, beta = [], []
        for j in range(size):
            z = solve(Q[-1])
            a = ctx.fdot(z, Q[-1])
            alpha.append(a)
            z = [zi - a * qi for zi, qi in zip(z, Q[-1])]
            if j:
                z = [zi - beta[-1] * qi for zi, qi in zip(z, Q[-2])]
            for q in Q:  # full reorthogonalisation (once suffices with the guard digits)
                d = ctx.fdot(z, q)
                z = [zi - d * qi for zi, qi in zip(z, q)]
            b = ctx.sqrt(ctx.fdot(z, z))
            if b == 0 or b < ctx.mpf(10) ** (-ctx.dps) * abs(a):
                break
            beta.append(b)
            Q.append([zi / b for zi in z])
        self.alpha, self.beta, self.Q = alpha, beta, Q

    def spectrum(self, size: int, vectors: bool):
        """Ritz values of the inverse and the first components (or full eigenvectors) of T_size
        (memoized per size, kind and precision: every lag of a run shares them)."""
        key = (min(size, len(self.alpha)), vectors, mpmath.mp.prec)
        cache = self.__dict__.setdefault("_spectra", {})
        if key not in cache:
            cache[key] = self._spectrum(*key[:2])
        return cache[key]

    def _spectrum(self, size: int, vectors: bool):
        from mpmath.matrices.eigen_symmetric import tridiag_eigen

        size = min(size, len(self.alpha))
        d = list(self.alpha[:size])
        e = list(self.beta[: size - 1]) + [mpmath.mpf(0)]
        if vectors:
            z = mpmath.eye(size)
        else:
            z = mpmath.zeros(1, size)
            z[0, 0] = 1
        tridiag_eigen(mpmath.mp, d, e, z)
        return d, z


class MpFourierKrylov:
    """One-hidden-unit kernels in mpmath at the current precision (module docstring).

    The box holds {U - U_min < kappa s^2} with kappa chosen from the precision (psi_0^2 at the edge
    below 10^-(dps + 3)); ``nodes`` Fourier points; ``size`` Lanczos vectors of (H + sigma)^{-1}.
    ``kernel`` returns the value and the change when the Krylov size drops by a quarter.
    """

    def __init__(self, law: GradientLaw, values: Mapping[str, float], *, nodes: int = 96, size: int = 40,
                 sigma: float = 2.0):
        nl = numeric_law(law, values)
        if nl.n != 1:
            raise NoOracle(f"the mpmath Krylov route handles one hidden unit, not {nl.n}")
        ctx = mpmath.mp
        self.nl, self.N, self.size = nl, nodes, size
        h = nl.hidden
        mp = functools.partial(sympy.lambdify, h, modules="mpmath")
        U, F = mp(nl.potential), mp(nl.drift[0])
        dF = mp(nl.divergence)
        s2 = to_mpf(nl.s2)
        self.s2 = s2
        centre, box = level_box(nl, 20.0)
        hmin = ctx.findroot(F, ctx.mpf(float(centre[0])))
        Umin = U(hmin)
        kappa = (ctx.dps - 5) * math.log(10) / 2
        lo = level_crossing(U, Umin + kappa * s2, hmin, -1)
        hi = level_crossing(U, Umin + kappa * s2, hmin, +1)
        self.box = (lo, hi)
        L = hi - lo
        N = nodes
        dx = L / N
        self.dx = dx
        x = [lo + j * dx for j in range(N)]
        self.x = x
        hh = 2 * ctx.pi / N
        # Fourier differentiation matrices of period L (Trefethen, Spectral Methods in MATLAB, ch. 3)
        c1, c2 = 2 * ctx.pi / L, (2 * ctx.pi / L) ** 2
        col2 = [-(ctx.pi**2) / (3 * hh**2) - ctx.mpf(1) / 6] + [
            -((-1) ** k) / (2 * ctx.sin(k * hh / 2) ** 2) for k in range(1, N)]
        col1 = [ctx.mpf(0)] + [((-1) ** k) / 2 * ctx.cot(k * hh / 2) for k in range(1, N)]
        self.D1 = [[c1 * col1[(j - k) % N] for k in range(N)] for j in range(N)]
        self.Fx = [F(xi) for xi in x]
        V = [fx**2 / (2 * s2) + dF(xi) / 2 for fx, xi in zip(self.Fx, x)]
        self.Hrows = [[(-s2 / 2) * c2 * col2[(j - k) % N] + (V[j] if j == k else 0) for k in range(N)]
                      for j in range(N)]
        self.sigma = ctx.mpf(sigma)
        # H + sigma is symmetric positive definite (H >= 0): Cholesky, H + sigma = L L^T, by dot products
        L: list[list] = []
        for i in range(N):
            row = []
            for j in range(i + 1):
                a = self.Hrows[i][j] + (self.sigma if i == j else 0)
                if j:
                    a -= ctx.fdot((row if j == i else L[j])[:j], row[:j])
                if i == j:
                    if a <= 0:
                        raise NoOracle("H + sigma is not positive definite on the grid")
                    row.append(ctx.sqrt(a))
                else:
                    row.append(a / L[j][j])
            L.append(row)
        self._L = L
        self._LT = [[L[j][i] for j in range(i, N)] for i in range(N)]  # rows of L^T from the diagonal
        psi0 = [ctx.exp(-(U(xi) - Umin) / s2) for xi in x]
        norm = ctx.sqrt(ctx.fsum(p * p for p in psi0) * dx)
        self.psi0 = [p / norm for p in psi0]
        self.f = [[p * g(xi) for p, xi in zip(self.psi0, x)] for g in map(mp, nl.readout)]
        self.a = [[p * g(xi) for p, xi in zip(self.psi0, x)] for g in map(mp, nl.conjugates)]
        self.C = [to_mpf(nl.C[0, k]) for k in range(nl.C.shape[1])]
        # b_k at the nodes for an input inside the activation (a'(w h + b) C_k), else None
        self.fields = [[g(xi) for xi in x] for g in (mp(field[0]) for field in nl.input_fields)] if nl.inside else None
        self._runs: dict = {}

    def solve(self, b: list) -> list:
        """(H + sigma)^{-1} b from the Cholesky factor."""
        ctx = mpmath.mp
        N = self.N
        y: list = []
        for i in range(N):
            y.append((b[i] - ctx.fdot(self._L[i][:i], y)) / self._L[i][i] if i else b[0] / self._L[0][0])
        out = [ctx.mpf(0)] * N
        for i in range(N - 1, -1, -1):
            row = self._LT[i]
            s = ctx.fdot(row[1:], out[i + 1:]) if i < N - 1 else 0
            out[i] = (y[i] - s) / row[0]
        return out

    def _run(self, key, w: list) -> _MpLanczos:
        if key not in self._runs:
            self._runs[key] = _MpLanczos(self.solve, w, self.size)
        return self._runs[key]

    def _g(self, mu, tau):
        """e^{-tau lambda} at the Ritz value mu of (H + sigma)^{-1}, lambda = 1/mu - sigma."""
        return mpmath.exp(-tau * (1 / mu - self.sigma)) if mu > 0 else mpmath.mpf(0)

    def _quadratic(self, key, w: list, tau, size: int):
        """w^T e^{-tau H} w by the Gauss rule of the Lanczos tridiagonal."""
        run = self._run(key, w)
        d, z = run.spectrum(size, vectors=False)
        return run.beta0**2 * mpmath.fsum(z[0, j] ** 2 * self._g(d[j], tau) for j in range(len(d)))

    def bilinear(self, key, a: list, w: list, tau) -> tuple:
        """<a, e^{-tau H} w> dx by polarisation; returns (value, change at three quarters of the size)."""
        out = []
        for size in (self.size, (3 * self.size) // 4):
            plus = self._quadratic(key + ("+",), [p + q for p, q in zip(a, w)], tau, size)
            minus = self._quadratic(key + ("-",), [p - q for p, q in zip(a, w)], tau, size)
            out.append((plus - minus) / 4 * self.dx)
        return out[0], abs(out[0] - out[1])

    def evolve(self, key, w: list, tau) -> list:
        """e^{-tau H} w as a grid vector (full Ritz vectors of the Lanczos tridiagonal)."""
        run = self._run(key, w)
        d, Z = run.spectrum(self.size, vectors=True)
        m = len(d)
        coeff = [run.beta0 * Z[0, j] * self._g(d[j], tau) for j in range(m)]
        y = [mpmath.fsum(Z[i, j] * coeff[j] for j in range(m)) for i in range(m)]
        return [mpmath.fdot([run.Q[i][p] for i in range(m)], y) for p in range(self.N)]

    def input_operator(self, w: list, k: int) -> list:
        if self.fields is not None:
            return [c * (mpmath.fdot(row, w) - wi * fx / self.s2)
                    for c, row, wi, fx in zip(self.fields[k], self.D1, w, self.Fx)]
        c = self.C[k]
        return [c * (mpmath.fdot(row, w) - wi * fx / self.s2) for row, wi, fx in zip(self.D1, w, self.Fx)]

    def mean(self, q: int):
        return mpmath.fdot(self.psi0, self.f[q]) * self.dx

    def kernel(self, q: int, indices: Sequence[int], lags: Sequence) -> tuple:
        """R^(n) in the correlation form and its Krylov change (module docstring)."""
        w, key = self.f[q], ("f", q)
        for j in range(len(lags) - 1):
            w = self.input_operator(self.evolve(key, w, lags[j]), indices[j])
            key = key + ((lags[j], indices[j]),)
        k = indices[-1]
        if lags[-1] == 0:
            return mpmath.fdot(self.a[k], w) * self.dx, mpmath.mpf(0)
        return self.bilinear(key + ("a", k), self.a[k], w, lags[-1])


