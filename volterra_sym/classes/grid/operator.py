"""The discretised backward generator and its stationary density.

In the coordinates of :mod:`.box` (h = centre + M z, noise = identity) the generator is
L0 g = F_z . grad g + 1/2 Laplacian g with F_z = M^-1 F(centre + M z). With the weight
w = e^-phi, phi(z) = sum_i z_i^2 / (4 D_i), the conjugated operator H psi = w L0 (psi / w) is

    H = 1/2 Laplacian + (F_z + grad phi) . grad + V,    V = F_z . grad phi + 1/2 (Laplacian phi + |grad phi|^2),

and the input operator C_k . grad_h becomes Bk = c_k . grad + c_k . grad phi with c_k = M^-1 C_k. A vector
field v(h) . grad_h becomes sum_i diag(v_i) E_i with the per-unit operators E_i = sum_d (M^-1)_{d i} (d_d + d_d phi)
(kept for an input inside the activation, :mod:`.inside`). Every
function the backward recursion meets (w g) and every density seen through the weight (rho / w)
decays like sqrt(rho) (:mod:`.box`), so Fourier collocation on the box is spectrally accurate: H is
the sum over axes of (1/2 D2 + diag(advection) D1) lifted by Kronecker products, plus diag(V), a
sparse matrix with n N non-zeros per row.

The stationary density is the null vector of the discretised adjoint: pi with H^T pi = 0,
pi . w = 1, so that <g>_inf = pi . (w g) and mu = pi * w is the probability of each node. H is
not symmetric (the network need not be reversible): nothing here assumes real eigenvalues.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy
import scipy.sparse
import scipy.sparse.linalg

from ...errors import DerivationError
from ...network import NumericSRNN
from .box import Coordinates
from .inside import InsideActivation, _scaled

__all__ = ["GridOperator", "assemble", "shifted_norm", "leading_modes", "wall_nodes", "fourier_matrices", "stationary_density", "Diagnostics", "diagnose",
           "density_moments"]


def fourier_matrices(N: int, length: float) -> tuple[numpy.ndarray, numpy.ndarray]:
    """First and second derivative matrices on a periodic grid of N (even) points over ``length``.

    >>> D1, D2 = fourier_matrices(8, 2 * numpy.pi)
    >>> x = numpy.arange(8) * 2 * numpy.pi / 8
    >>> bool(numpy.allclose(D1 @ numpy.sin(x), numpy.cos(x)) and numpy.allclose(D2 @ numpy.sin(x), -numpy.sin(x)))
    True
    """
    k = numpy.fft.fftfreq(N, d=length / N) * 2 * numpy.pi
    k1 = k.copy()
    k1[N // 2] = 0.0  # the Nyquist mode has no real first derivative
    eye = numpy.eye(N)
    D1 = numpy.real(numpy.fft.ifft(1j * k1[:, None] * numpy.fft.fft(eye, axis=0), axis=0))
    D2 = numpy.real(numpy.fft.ifft(-(k**2)[:, None] * numpy.fft.fft(eye, axis=0), axis=0))
    return D1, (D2 + D2.T) / 2


@dataclass(frozen=True, slots=True)
class GridOperator:
    """H, the input operators and the readout on one grid (module docstring); arrays are float64.

    ``advection[d]`` multiplies the z_d derivative, ``potential`` is V, ``weight`` is w, ``input_const``
    (n, m) holds c_k = M^-1 C_k and ``input_diag`` (m, M) the multiplier c_k . grad phi; ``readout``
    (M, p) is w f_q at the nodes. ``H`` and ``inputs`` are CSR matrices (dense arrays on a grid of at
    most :data:`DENSE_SIZE` nodes), ``HT`` and ``inputsT`` their transposes; ``norm`` is the 1-norm of H - shift I (the shift minimising it, :func:`shifted_norm`),
    ``norm_T`` that of H^T - shift_T I, ``input_norms`` the 1-norms of the transposed input operators.

    For an input inside the activation (:mod:`.inside`) ``units`` holds the per-unit operators E_i,
    ``unitsT`` their transposes, ``unit_columns`` (n, M) the 1-norms of the columns of each E_i^T,
    ``input_matrix`` C, ``pre`` (n, M) z = W h + b at the nodes, ``activated`` a(z),
    ``coefficients`` (order, n, M) c_{j,i}(z_i) = a^(j)(z_i)/j! and ``activation`` a (complex
    arguments allowed); the input operators ``inputs`` are then B_k = sum_i diag(c_{1,i} C_{ik}) E_i.
    For an additive input these are empty or ``None``.
    """

    coords: Coordinates
    N: int
    axes: tuple[numpy.ndarray, ...]
    D1: tuple[numpy.ndarray, ...]
    D2: tuple[numpy.ndarray, ...]
    nodes: numpy.ndarray  # (n, M) in h
    advection: numpy.ndarray
    potential: numpy.ndarray
    weight: numpy.ndarray
    input_const: numpy.ndarray
    input_diag: numpy.ndarray
    readout: numpy.ndarray
    H: scipy.sparse.csr_matrix
    HT: scipy.sparse.csr_matrix
    inputs: tuple[scipy.sparse.csr_matrix, ...]
    inputsT: tuple[scipy.sparse.csr_matrix, ...]
    shift: float
    norm: float
    shift_T: float
    norm_T: float
    input_norms: tuple[float, ...]
    units: tuple = ()
    unitsT: tuple = ()
    unit_columns: numpy.ndarray | None = None
    input_matrix: numpy.ndarray | None = None
    pre: numpy.ndarray | None = None
    activated: numpy.ndarray | None = None
    coefficients: numpy.ndarray | None = None
    activation: Callable[[numpy.ndarray], numpy.ndarray] | None = None

    @property
    def inside(self) -> bool:
        """Whether the input enters the activation (contact operators, a field-valued perturbation)."""
        return self.coefficients is not None

    @property
    def n(self) -> int:
        return self.coords.n

    @property
    def size(self) -> int:
        return self.N**self.n

    @property
    def spacing(self) -> numpy.ndarray:
        return 2 * self.coords.half / self.N


def _lift(matrix: numpy.ndarray, axis: int, n: int, N: int) -> scipy.sparse.csr_matrix:
    eye = scipy.sparse.identity(N, format="csr")
    factors = [scipy.sparse.csr_matrix(matrix) if d == axis else eye for d in range(n)]
    return functools.reduce(lambda a, b: scipy.sparse.kron(a, b, format="csr"), factors)


#: grids with at most this many nodes keep dense matrices (products are then cheaper than sparse ones)
DENSE_SIZE = 512


def _storage(A):
    """CSR, or a dense array for a small grid."""
    if A.shape[0] <= DENSE_SIZE:
        return A.toarray() if scipy.sparse.issparse(A) else numpy.asarray(A)
    return scipy.sparse.csr_matrix(A)


def _norm1(A) -> float:
    return float(numpy.asarray(abs(A).sum(axis=0)).max())


def shifted_norm(A: scipy.sparse.csr_matrix) -> tuple[float, float]:
    """(mu, ||A - mu I||_1) with mu minimising the norm: the column sums are |a_jj - mu| + o_j (o_j the
    off-diagonal sum), so the best mu is the midpoint of max(a_jj + o_j) and min(a_jj - o_j)."""
    d = A.diagonal()
    o = numpy.asarray(abs(A).sum(axis=0)).ravel() - numpy.abs(d)
    mu = 0.5 * (float((d + o).max()) + float((d - o).min()))
    return mu, float((numpy.abs(d - mu) + o).max())


def _inside_data(net: NumericSRNN, nodes: numpy.ndarray, lifted1: list, grad_phi: numpy.ndarray,
                 coords: Coordinates, inside: InsideActivation) -> dict:
    """The per-unit operators, the activation's Taylor coefficients at the nodes and the input operators
    B_k = sum_i diag(c_{1,i} C_ik) E_i of an input inside the activation."""
    n, M = nodes.shape
    pre = net.W @ nodes + net.b[:, None]
    with numpy.errstate(all="ignore"):
        coefficients = numpy.stack([numpy.broadcast_to(numpy.asarray(c(pre), dtype=numpy.float64), pre.shape)
                                    for c in inside.coefficients])
        activated = numpy.broadcast_to(numpy.asarray(inside.activation(pre), dtype=numpy.float64), pre.shape).copy()
    if not (numpy.all(numpy.isfinite(coefficients)) and numpy.all(numpy.isfinite(activated))):
        raise DerivationError("the activation or its derivatives are not finite on the grid's box")
    units = []
    for i in range(n):
        E = scipy.sparse.diags(coords.to_z[:, i] @ grad_phi, format="csr")
        for d in range(n):
            if coords.to_z[d, i] != 0:
                E = E + coords.to_z[d, i] * lifted1[d]
        units.append(_storage(E))
    unitsT = tuple(_storage(E.T) for E in units)
    columns = numpy.stack([numpy.asarray(abs(ET).sum(axis=0)).ravel() for ET in unitsT])
    inputs = []
    for k in range(net.n_inputs):
        Bk = None
        for i in range(n):
            if net.C[i, k] != 0:
                term = _scaled(net.C[i, k] * coefficients[0][i], units[i])
                Bk = term if Bk is None else Bk + term
        inputs.append(_storage(0.0 * units[0] if Bk is None else Bk))
    return {"units": tuple(units), "unitsT": unitsT, "unit_columns": columns, "input_matrix": net.C.copy(),
            "pre": pre, "activated": activated, "coefficients": coefficients, "activation": inside.activation,
            "inputs": inputs}


def assemble(net: NumericSRNN, coords: Coordinates, N: int, inside: InsideActivation | None = None) -> GridOperator:
    """H, the input operators and the weighted readout on an N^n grid (module docstring); ``inside`` (the
    activation's Taylor coefficients) for an input inside the activation (:mod:`.inside`)."""
    n = coords.n
    axes, D1s, D2s = [], [], []
    for d in range(n):
        length = 2 * coords.half[d]
        axes.append(-coords.half[d] + numpy.arange(N) * length / N)
        D1, D2 = fourier_matrices(N, length)
        D1s.append(D1)
        D2s.append(D2)
    Z = numpy.stack([g.ravel() for g in numpy.meshgrid(*axes, indexing="ij")])  # (n, M)
    nodes = coords.centre[:, None] + coords.to_h @ Z
    with numpy.errstate(all="ignore"):
        F = net.drift(nodes.copy())
        f = numpy.stack(net.output(nodes.copy()), axis=-1)  # (M, p)
    if not (numpy.all(numpy.isfinite(F)) and numpy.all(numpy.isfinite(f))):
        raise DerivationError("the drift or the readout is not finite on the grid's box "
                              f"({', '.join(f'[{lo:.3g}, {hi:.3g}]' for lo, hi in coords.box_h())})")
    Fz = coords.to_z @ F
    grad_phi = Z / (2 * coords.variances[:, None])
    lap_phi = float(numpy.sum(1 / (2 * coords.variances)))
    potential = (Fz * grad_phi).sum(axis=0) + 0.5 * (lap_phi + (grad_phi**2).sum(axis=0))
    advection = Fz + grad_phi
    weight = numpy.exp(-(Z**2 / (4 * coords.variances[:, None])).sum(axis=0))
    lifted1 = [_lift(D1s[d], d, n, N) for d in range(n)]
    H = scipy.sparse.diags(potential, format="csr")
    for d in range(n):
        H = H + 0.5 * _lift(D2s[d], d, n, N) + scipy.sparse.diags(advection[d]) @ lifted1[d]
    H = _storage(H)
    input_const = coords.to_z @ net.C  # (n, m)
    input_diag = input_const.T @ grad_phi  # (m, M)
    extra = {}
    if inside is None:
        inputs = []
        for k in range(net.n_inputs):
            Bk = scipy.sparse.diags(input_diag[k], format="csr")
            for d in range(n):
                if input_const[d, k] != 0:
                    Bk = Bk + input_const[d, k] * lifted1[d]
            inputs.append(_storage(Bk))
    else:
        extra = _inside_data(net, nodes, lifted1, grad_phi, coords, inside)
        inputs = extra.pop("inputs")
    HT = _storage(H.T)
    shift, norm = shifted_norm(H)
    shift_T, norm_T = shifted_norm(HT)
    inputsT = tuple(_storage(B.T) for B in inputs)
    return GridOperator(coords=coords, N=N, axes=tuple(axes), D1=tuple(D1s), D2=tuple(D2s), nodes=nodes,
                        advection=advection, potential=potential, weight=weight, input_const=input_const,
                        input_diag=input_diag, readout=weight[:, None] * f, H=H, HT=HT, inputs=tuple(inputs),
                        inputsT=inputsT, shift=shift, norm=norm, shift_T=shift_T, norm_T=norm_T,
                        input_norms=tuple(_norm1(B) for B in inputsT), **extra)


def stationary_density(op: GridOperator, rate: float) -> tuple[numpy.ndarray, float]:
    """pi with H^T pi = lam0 pi for the eigenvalue lam0 of largest real part (0 up to the discretisation
    error), normalised by pi . w = 1; returns (pi, lam0). Refuses an operator whose leading eigenvalue
    is not small against ``rate`` (the slowest relaxation rate of the network's linearization)."""
    start = op.weight**2 / numpy.linalg.norm(op.weight**2)
    M = op.size
    try:
        lam, vec = scipy.sparse.linalg.eigs(op.HT, k=1, which="LR", v0=start, tol=1e-14, ncv=min(M - 2, 48),
                                            maxiter=20_000)
    except scipy.sparse.linalg.ArpackNoConvergence as err:
        raise DerivationError("the stationary density did not converge (ARPACK)") from err
    lam0, v = lam[0], vec[:, 0]
    if not abs(lam0) <= 1e-3 * rate:
        raise DerivationError(f"the discretised generator has a mode with eigenvalue {complex(lam0):.3g} where 0 "
                              "is expected: no invariant density on this grid")
    pi = numpy.real(v * numpy.exp(-1j * numpy.angle(v @ op.weight)))
    total = float(pi @ op.weight)
    if not numpy.isfinite(total) or total <= 0:
        raise DerivationError("the stationary density on the grid is not normalisable")
    return pi / total, float(lam0.real)


@dataclass(frozen=True, slots=True)
class Diagnostics:
    """How well the box holds the density: ``wall_mass`` is the probability on the outermost layer of
    nodes, ``negative_mass`` the total of the negative node probabilities (discretisation noise),
    ``readout_wall`` the largest sum over the walls of probability times |f_q|, ``weight_wall`` e^-kappa
    (the size of the weighted functions at the walls relative to the centre)."""

    wall_mass: float
    negative_mass: float
    readout_wall: float
    weight_wall: float


def wall_nodes(n: int, N: int) -> numpy.ndarray:
    """Boolean mask of the nodes on the outermost layer of the grid (flattened)."""
    edge = numpy.zeros((N,) * n, dtype=bool)
    for d in range(n):
        index = [slice(None)] * n
        index[d] = 0
        edge[tuple(index)] = True
        index[d] = N - 1
        edge[tuple(index)] = True
    return edge.ravel()


def diagnose(op: GridOperator, pi: numpy.ndarray) -> Diagnostics:
    mass = pi * op.weight
    edge = wall_nodes(op.n, op.N)
    f = numpy.abs(op.readout[edge] / op.weight[edge, None])
    return Diagnostics(wall_mass=float(numpy.abs(mass[edge]).sum()), negative_mass=float(mass[mass < 0].sum()),
                       readout_wall=float((numpy.abs(mass[edge])[:, None] * f).sum(axis=0).max(initial=0.0)),
                       weight_wall=float(numpy.exp(-op.coords.kappa)))


def density_moments(op: GridOperator, pi: numpy.ndarray) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Mean and covariance of h under the grid's stationary density."""
    mass = pi * op.weight
    mean = op.nodes @ mass
    centred = op.nodes - mean[:, None]
    return mean, (centred * mass) @ centred.T


def leading_modes(op: GridOperator, count: int = 6) -> numpy.ndarray:
    """The ``count`` eigenvalues of H with the largest real parts (0 first, then the slowest relaxation
    rates; complex for a non-reversible network), by ARPACK; sorted by decreasing real part."""
    M = op.size
    count = min(count, M - 2)
    lam = scipy.sparse.linalg.eigs(op.H, k=count, which="LR", return_eigenvectors=False, tol=1e-10,
                                   v0=op.weight / numpy.linalg.norm(op.weight), ncv=min(M - 1, 4 * count + 16),
                                   maxiter=50_000)
    lam = lam[numpy.lexsort((lam.imag, -numpy.round(lam.real, 10)))][:count]
    return numpy.where(numpy.abs(lam.imag) < 1e-12 * numpy.maximum(1.0, numpy.abs(lam)), lam.real + 0j, lam)
