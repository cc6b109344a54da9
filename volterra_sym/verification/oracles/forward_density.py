"""An independent route for the grid engine: the FORWARD Fokker-Planck equation in the network's coordinates.

    L* rho = -sum_i d_i (F_i rho) + 1/2 sum_ij Sigma_ij d_i d_j rho = 0

on an axis-aligned box in h, with rho = 0 on the walls, solved with the equation at the node nearest
the centre traded for a normalisation. Two discretisations, neither shared with the engine (which
collocates the Gaussian-weighted BACKWARD operator on a periodic Fourier grid in whitened, rotated
coordinates, finds the density as an adjoint eigenvector and propagates by Taylor actions):

* one or two hidden units: Chebyshev collocation (dense Kronecker matrices, dense LU, Clenshaw-Curtis
  means) at two resolutions, the finer answering and their difference its accuracy; kernels by
  theory.md 3(a), R^(n) = int f e^{tau_1 L*} L1^{k_1*} ... e^{tau_n L*} L1^{k_n*} rho, with dense matrix
  exponentials;
* three hidden units: second-order central finite differences (sparse LU, trapezoidal means) on
  three grids and Richardson extrapolation in h^2, the change between the two extrapolations its
  accuracy (densities only).

The box is the oracle's own: BOX_SIGMAS standard deviations per axis around the density's mean,
found by re-solving on a coarse grid from the linearization's law until the moments settle.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

from ...network import NumericSRNN, stationary_covariance
from .gaussian_path import NoOracle

__all__ = ["ChebyshevDensity", "DensityMeans", "ForwardOracle", "chebyshev_density", "difference_density",
           "forward_oracle",
           "CHEBYSHEV_LEVELS", "DIFFERENCE_LEVELS", "BOX_SIGMAS"]

#: Chebyshev points per axis: box search, coarse, fine (one or two hidden units)
CHEBYSHEV_LEVELS = {1: (48, 72, 96), 2: (28, 40, 50)}
#: finite-difference points per axis: box search, then the three Richardson grids (three hidden units)
DIFFERENCE_LEVELS = {3: (16, 20, 24, 32)}
BOX_SIGMAS = 7.0


def _cheb(N: int) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Chebyshev differentiation matrix and the N + 1 points on [-1, 1] (Trefethen, Spectral Methods in MATLAB)."""
    x = numpy.cos(numpy.pi * numpy.arange(N + 1) / N)
    c = numpy.hstack([2, numpy.ones(N - 1), 2]) * (-1) ** numpy.arange(N + 1)
    X = numpy.tile(x, (N + 1, 1)).T
    D = numpy.outer(c, 1 / c) / (X - X.T + numpy.eye(N + 1))
    return D - numpy.diag(D.sum(axis=1)), x


def _clenshaw_curtis(N: int) -> numpy.ndarray:
    theta = numpy.pi * numpy.arange(N + 1) / N
    w = numpy.zeros(N + 1)
    v = numpy.ones(N - 1)
    if N % 2 == 0:
        w[0] = w[N] = 1 / (N**2 - 1)
        for k in range(1, N // 2):
            v -= 2 * numpy.cos(2 * k * theta[1:-1]) / (4 * k**2 - 1)
        v -= numpy.cos(N * theta[1:-1]) / (N**2 - 1)
    else:
        w[0] = w[N] = 1 / N**2
        for k in range(1, (N - 1) // 2 + 1):
            v -= 2 * numpy.cos(2 * k * theta[1:-1]) / (4 * k**2 - 1)
    w[1:-1] = 2 * v / N
    return w


def _kron(factors: Sequence, sparse: bool):
    if sparse:
        return functools.reduce(lambda a, b: scipy.sparse.kron(a, b, format="csr"), factors)
    return functools.reduce(numpy.kron, factors)


def _forward_operator(net: NumericSRNN, grid: numpy.ndarray, first: Sequence, second: Sequence, sparse: bool):
    """L* from per-axis first/second derivative matrices lifted to the tensor grid."""
    n = net.n_hidden
    size = first[0].shape[0]
    eye = scipy.sparse.identity(size, format="csr") if sparse else numpy.eye(size)

    def lift(mats: dict):
        return _kron([mats.get(d, eye) for d in range(n)], sparse)

    with numpy.errstate(all="ignore"):
        F = net.drift(grid.copy())
    if not numpy.all(numpy.isfinite(F)):
        raise NoOracle("the drift is not finite on the forward oracle's box")
    Sigma = net.sigma @ net.sigma.T
    L = None
    for i in range(n):
        D = lift({i: first[i]})
        term = -(D @ scipy.sparse.diags(F[i])) if sparse else -(D * F[i][None, :])
        L = term if L is None else L + term
        for j in range(n):
            if Sigma[i, j] != 0:
                L = L + 0.5 * Sigma[i, j] * (lift({i: second[i]}) if i == j else lift({i: first[i], j: first[j]}))
    return L


@dataclass(frozen=True)
class ChebyshevDensity:
    """The Chebyshev forward solution on the inner nodes (n, M): quadrature ``weights``, density ``rho``
    (weights . rho = 1), the inner forward operator ``L`` and derivative matrices ``D`` (for kernels)."""

    N: int
    box: tuple[tuple[float, float], ...]
    nodes: numpy.ndarray
    weights: numpy.ndarray
    rho: numpy.ndarray
    L: numpy.ndarray
    D: tuple[numpy.ndarray, ...]
    C: numpy.ndarray
    _expm: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def mass(self) -> numpy.ndarray:
        return self.weights * self.rho

    def propagate(self, v: numpy.ndarray, tau: float) -> numpy.ndarray:
        if tau not in self._expm:
            self._expm[tau] = scipy.linalg.expm(self.L * tau)
        return self._expm[tau] @ v

    def kernel(self, readout: numpy.ndarray, lags: Sequence[float], indices: Sequence[int],
               slopes: numpy.ndarray | None = None) -> numpy.ndarray:
        """R^(n) for the input indices k_1..k_n at lags tau_1..tau_n; ``readout`` is f at the nodes (M, p).
        ``slopes`` (n, M): the input enters the activation, its operator is (slopes_i C_ik) d_i (theory.md 7.1)."""
        v = self.rho
        for tau, k in reversed(list(zip(lags, indices))):
            if slopes is None:
                v = -sum(self.C[d, k] * (self.D[d] @ v) for d in range(len(self.D)))
            else:
                v = -sum(self.D[d] @ (self.C[d, k] * slopes[d] * v) for d in range(len(self.D)))
            v = self.propagate(v, float(tau))
        return (self.weights * v) @ readout


def _solve_null(L, nodes: numpy.ndarray, centre: numpy.ndarray, sparse: bool) -> numpy.ndarray:
    """rho with L rho = 0 except at the node r nearest the centre, where rho_r = 1."""
    r = int(numpy.argmin(((nodes - centre[:, None]) ** 2).sum(axis=0)))
    keep = numpy.ones(L.shape[0], dtype=bool)
    keep[r] = False
    if sparse:
        L = scipy.sparse.csc_matrix(L)
        A, b = L[keep][:, keep], -L[keep][:, [r]].toarray().ravel()
        x = scipy.sparse.linalg.spsolve(scipy.sparse.csc_matrix(A), b)
    else:
        x = numpy.linalg.solve(L[numpy.ix_(keep, keep)], -L[keep, r])
    rho = numpy.empty(L.shape[0])
    rho[keep], rho[r] = x, 1.0
    if not numpy.all(numpy.isfinite(rho)):
        raise NoOracle("the forward system is singular")
    return rho


def chebyshev_density(net: NumericSRNN, centre: numpy.ndarray, half: numpy.ndarray, N: int) -> ChebyshevDensity:
    """Solve L* rho = 0 on the box centre +- half with N + 1 Chebyshev points per axis (rho = 0 on the walls)."""
    n = net.n_hidden
    if (N - 1) ** n > 4000:
        raise NoOracle(f"the dense Chebyshev route is limited to ~4000 unknowns ({N - 1}^{n} asked)")
    axes, D1, D2, ws = [], [], [], []
    for c, hw in zip(centre, half):
        D, x = _cheb(N)
        axes.append(c + hw * x)
        D1.append(D / hw)
        D2.append((D @ D) / hw**2)
        ws.append(_clenshaw_curtis(N) * hw)
    grid = numpy.stack([g.ravel() for g in numpy.meshgrid(*axes, indexing="ij")])
    weights = functools.reduce(numpy.multiply.outer, ws).ravel()
    L = _forward_operator(net, grid, D1, D2, sparse=False)
    inner = numpy.ones(grid.shape[1], dtype=bool)
    for d in range(n):
        inner &= (grid[d] != axes[d][0]) & (grid[d] != axes[d][-1])
    L = L[numpy.ix_(inner, inner)]
    nodes, w = grid[:, inner], weights[inner]
    rho = _solve_null(L, nodes, numpy.asarray(centre, dtype=float), sparse=False)
    rho = rho / float(w @ rho)
    eye = numpy.eye(N + 1)
    D = tuple(_kron([D1[d] if d == a else eye for d in range(n)], False)[numpy.ix_(inner, inner)] for a in range(n))
    return ChebyshevDensity(N=N, box=tuple((float(a[-1]), float(a[0])) for a in axes), nodes=nodes, weights=w,
                            rho=rho, L=L, D=D, C=net.C.copy())


def difference_density(net: NumericSRNN, centre: numpy.ndarray, half: numpy.ndarray,
                       N: int) -> tuple[numpy.ndarray, numpy.ndarray]:
    """(nodes, probabilities) of the second-order central-difference solution on N points per axis."""
    axes = [c - hw + numpy.arange(N) * 2 * hw / (N - 1) for c, hw in zip(centre, half)]
    first, second = [], []
    for a in axes:
        h = float(a[1] - a[0])
        first.append(scipy.sparse.diags([-1.0, 1.0], [-1, 1], shape=(N, N), format="csr") / (2 * h))
        second.append(scipy.sparse.diags([1.0, -2.0, 1.0], [-1, 0, 1], shape=(N, N), format="csr") / h**2)
    grid = numpy.stack([g.ravel() for g in numpy.meshgrid(*axes, indexing="ij")])
    L = _forward_operator(net, grid, first, second, sparse=True)
    rho = _solve_null(L, grid, numpy.asarray(centre, dtype=float), sparse=True)
    return grid, rho / rho.sum()


def _moments(nodes: numpy.ndarray, mass: numpy.ndarray) -> tuple[numpy.ndarray, numpy.ndarray]:
    mean = nodes @ mass
    centred = nodes - mean[:, None]
    return mean, (centred * mass) @ centred.T


def _adapted_box(net: NumericSRNN, solve: Callable, N: int, rounds: int = 3):
    """Centre and half-widths of a box BOX_SIGMAS standard deviations wide around the density's mean."""
    if net.S is not None:
        centre, cov = numpy.asarray(net.mu, dtype=float), net.S
    else:
        centre = numpy.zeros(net.n_hidden)
        cov = stationary_covariance(-net.Gamma, net.sigma @ net.sigma.T)
    for _ in range(rounds):
        nodes, mass = solve(centre, BOX_SIGMAS * numpy.sqrt(numpy.diag(cov)), N)
        mean, new = _moments(nodes, mass)
        if not (numpy.all(numpy.isfinite(new)) and numpy.all(numpy.diag(new) > 0)):
            raise NoOracle("the forward oracle found no positive density on its box")
        settled = numpy.allclose(numpy.diag(new), numpy.diag(cov), rtol=0.03)
        centre, cov = mean, new
        if settled:
            break
    return centre, BOX_SIGMAS * numpy.sqrt(numpy.diag(cov))


@dataclass(frozen=True)
class DensityMeans:
    """Stationary means from the forward oracle: ``values`` and their estimated ``accuracy``."""

    values: numpy.ndarray
    accuracy: numpy.ndarray
    method: str


def _chebyshev_solver(net):
    def solve(centre, half, N):
        d = chebyshev_density(net, centre, half, N)
        return d.nodes, d.mass
    return solve


@dataclass(frozen=True)
class ForwardOracle:
    """The forward solutions of one network: (nodes, probabilities, h^2 or None) per resolution, the
    finer Chebyshev solution for kernels (one or two hidden units, else None) and how they combine."""

    levels: tuple[tuple[numpy.ndarray, numpy.ndarray, float | None], ...]
    density: ChebyshevDensity | None
    method: str

    def means(self, functions: Callable[[numpy.ndarray], numpy.ndarray]) -> DensityMeans:
        """Means of ``functions(nodes (n, M)) -> (M, q)`` and their accuracy: the finer Chebyshev value and
        its change from the coarser; or the Richardson extrapolation of the last two difference grids and
        its change from the previous pair."""
        values = [(h2, mass @ functions(nodes)) for nodes, mass, h2 in self.levels]
        if self.levels[0][2] is None:
            return DensityMeans(values[-1][1], numpy.abs(values[-1][1] - values[-2][1]), self.method)
        extrapolated = [(v2 * h1 - v1 * h2) / (h1 - h2) for (h1, v1), (h2, v2) in zip(values, values[1:])]
        return DensityMeans(extrapolated[-1], numpy.abs(extrapolated[-1] - extrapolated[-2]), self.method)


def forward_oracle(net: NumericSRNN) -> ForwardOracle:
    """Solve the forward equation at the oracle's resolutions (module docstring)."""
    n = net.n_hidden
    if n in CHEBYSHEV_LEVELS:
        search, coarse, fine = CHEBYSHEV_LEVELS[n]
        centre, half = _adapted_box(net, _chebyshev_solver(net), search)
        a = chebyshev_density(net, centre, half, coarse)
        b = chebyshev_density(net, centre, half, fine)
        return ForwardOracle(((a.nodes, a.mass, None), (b.nodes, b.mass, None)), b,
                             f"forward Chebyshev collocation, {fine + 1} and {coarse + 1} points per axis")
    if n in DIFFERENCE_LEVELS:
        search, *levels = DIFFERENCE_LEVELS[n]
        centre, half = _adapted_box(net, lambda c, h, N: difference_density(net, c, h, N), search)
        solved = tuple(difference_density(net, centre, half, N) + (1.0 / (N - 1) ** 2,) for N in levels)
        return ForwardOracle(solved, None, f"forward central differences on {', '.join(f'{N}^{n}' for N in levels)} "
                                           "points, Richardson-extrapolated in h^2")
    raise NoOracle(f"no forward oracle for {n} hidden units")
