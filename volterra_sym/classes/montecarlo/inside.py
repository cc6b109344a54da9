"""The input inside the activation: state-dependent impulse directions and input shifts (theory.md 8.1).

With dh = (-Gamma h + a(W h + b + eps C u)) dt + sigma dB the input acts along the vector field

    V(h, u) = a(z + eps C u) - a(z) = sum_j eps^j c_j(z) o (C u)^j,    c_j = a^(j) / j!,  z = W h + b,

so a kick depends on the state. The estimators shift a step's noise increment by a *previsible*
vector (a function of the state at the step's start), which keeps the likelihood ratio a Gaussian
density ratio, exact for the chain:

* a kick delta(h_i) at the start of step i is the increment shift s = N(h_i) delta with
  N(h) = I + DF(h) dt / 2 for Heun (the flow over the half step the scheme leaves out) and I for
  Euler: then node j of a kernel is its value at lag (j + 1) dt to O(dt^2) (Heun);
* two kicks on one step (R^(2) at tau_2 = 0) carry, besides the Hermite weight, the shift
  s_12 = N (D d_1) d_2 + D^2F[d_1, d_2] dt / 2 (the later direction evaluated at the kicked state,
  and the flow's second order over a step);
* an input over [0, t]: trapezoidal kicks at the grid times (the last half-weight moved one step
  back), each the flow of V over its weight to O(dt^2): delta = V dt + (DV V) dt^2 / 2.
"""

from __future__ import annotations

import itertools
import math

import numpy
import sympy

from ...network import NumericSRNN
from ...spec import X
from .weights import NoiseWeights

__all__ = ["ConstantImpulses", "ConstantLogWeights", "InsideField", "InsideImpulses", "InsideLogWeights",
           "exp_coefficients", "input_powers", "input_products"]


def input_products(C: numpy.ndarray, j: int) -> numpy.ndarray:
    """C_{i k_1} ... C_{i k_j} for every index tuple (k_1..k_j), row-major: shape (m^j, n)."""
    n, m = C.shape
    return numpy.array([[math.prod(C[i, k] for k in ks) for i in range(n)]
                        for ks in itertools.product(range(m), repeat=j)]).reshape(m**j, n)


def input_powers(Cu: numpy.ndarray, dt: float, order: int) -> numpy.ndarray:
    """Trapezoidal kicks of an input: U[j, i] = sum_p omega_p (C u(t_p))^j dt over the grid points p
    kicked on step i, for j = 0..order; ``Cu`` is C u on the grid (steps + 1, n). Point p is kicked at
    the start of step p with weight 1 (1/2 at p = 0); the last point's 1/2 goes to the last step.

    >>> input_powers(numpy.array([[1.0], [2.0], [3.0]]), 0.5, 1)[1, :, 0].tolist()
    [0.25, 1.75]
    """
    steps = len(Cu) - 1
    omega = numpy.ones(steps + 1)
    omega[0] = omega[-1] = 0.5
    target = numpy.minimum(numpy.arange(steps + 1), steps - 1)
    U = numpy.zeros((order + 1, steps, Cu.shape[1]))
    for j in range(order + 1):
        numpy.add.at(U[j], target, (omega * dt)[:, None] * Cu**j)
    return U


def exp_coefficients(lam: list[numpy.ndarray], order: int) -> list[numpy.ndarray]:
    """Taylor coefficients e_0..e_order of exp(sum_{n>=1} eps^n lam[n]): e_0 = 1,
    e_n = (1/n) sum_{k=1}^{n} k lam[k] e_(n-k) (``lam[0]`` is ignored).

    For lam = (., M, -Q/2, 0, ...) these are the scaled Hermite polynomials He_n(M; Q) / n!:

    >>> [float(x) for x in exp_coefficients([None, numpy.array(2.0), numpy.array(-0.5), 0.0], 3)]
    [1.0, 2.0, 1.5, 0.3333333333333333]
    """
    e = [numpy.ones_like(lam[1])]
    for n in range(1, order + 1):
        total = lam[1] * e[n - 1]
        for k in range(2, n + 1):
            total = total + k * lam[k] * e[n - k]
        e.append(total / n)
    return e


class InsideField:
    """c_j(z) = a^(j)(z)/j! of one network and the scheme's kick propagation N(h) (module docstring).

    ``activation`` is a(x) in :data:`volterra_sym.spec.X` with the parameters substituted; ``highest``
    the largest j evaluated.
    """

    def __init__(self, net: NumericSRNN, activation: sympy.Expr, highest: int, scheme: str, dt: float):
        self.net, self.scheme, self.dt, self.highest = net, scheme, dt, highest
        self._c = [sympy.lambdify([X], sympy.diff(activation, X, j) / sympy.factorial(j), modules="numpy")
                   for j in range(1, highest + 1)]

    def coefficients(self, h: numpy.ndarray) -> list[numpy.ndarray | None]:
        """[None, c_1(z), ..., c_highest(z)] at states h (..., n, paths), z = W h + b."""
        z = self.net.W @ h
        z += self.net.b[:, None]
        out: list[numpy.ndarray | None] = [None]
        with numpy.errstate(all="ignore"):
            for c in self._c:
                out.append(numpy.broadcast_to(numpy.asarray(c(z), dtype=numpy.float64), z.shape))
        return out

    def at(self, h: numpy.ndarray, j: int) -> numpy.ndarray:
        """c_j(W h + b) at one state h (n,)."""
        return self.coefficients(numpy.asarray(h, dtype=numpy.float64)[:, None])[j][:, 0]

    def propagate(self, delta: numpy.ndarray, c1: numpy.ndarray) -> numpy.ndarray:
        """N(h) delta: delta + (-Gamma delta + c_1(z) o (W delta)) dt / 2 for Heun, delta for Euler."""
        if self.scheme != "heun":
            return delta
        drift = self.net.W @ delta
        drift *= c1
        drift -= self.net.Gamma @ delta
        return delta + drift * (self.dt / 2)


class ConstantImpulses:
    """Impulses along constant increment shifts (the additive input, or the control variate's frozen
    directions): ``shifts`` per slot, each (A, n). ``weights(z, h)`` gives per slot (A, blocks, size)
    and, for two slots, the same-step Hermite weight w_1 w_2 - s_1 . G^-1 s_2, (A1, A2, blocks, size)."""

    needs_state = False

    def __init__(self, shifts: tuple[numpy.ndarray, ...], weights: NoiseWeights):
        self.sizes = tuple(len(s) for s in shifts)
        self.kicks = [weights.shift_weights(s) for s in shifts]  # (A, r)
        self.same_slots = len(shifts) == 2 and shifts[0] is shifts[1]
        self.bracket = weights.bracket(shifts[0][:, None, :], shifts[-1][None, :, :]) if len(shifts) == 2 else None

    def weights(self, z: numpy.ndarray, h: numpy.ndarray | None, diagonal: bool):
        w1 = numpy.moveaxis(self.kicks[0] @ z, 1, 0)
        if len(self.kicks) == 1:
            return w1, None, None
        w2 = w1 if self.same_slots else numpy.moveaxis(self.kicks[1] @ z, 1, 0)
        same = None
        if diagonal:
            same = w1[:, None] * w2[None, :]
            same -= self.bracket[:, :, None, None]
        return w1, w2, same


class InsideImpulses:
    """Impulses of an input inside the activation for a kernel of composition (j_1,) or (j_1, j_2): slot
    j kicks along d = c_j(z) o C_k1 o ... o C_kj with the increment shift N(h) d (module docstring)."""

    needs_state = True

    def __init__(self, field: InsideField, composition: tuple[int, ...], weights: NoiseWeights):
        self.field, self.composition, self.noise = field, composition, weights
        C = field.net.C
        self.products = [input_products(C, j) for j in composition]  # per slot (A, n)
        self.sizes = tuple(len(p) for p in self.products)

    def _direction(self, c: list, slot: int) -> numpy.ndarray:
        j = self.composition[slot]
        return c[j][None] * self.products[slot][:, None, :, None]  # (A, blocks, n, size)

    def weights(self, z: numpy.ndarray, h: numpy.ndarray, diagonal: bool):
        field, G_inv = self.field, self.noise.G_inv
        h = h[0]
        c = field.coefficients(h)
        Pz = self.noise.P @ z  # (blocks, n, size)
        d1 = self._direction(c, 0)
        s1 = field.propagate(d1, c[1])
        w1 = numpy.einsum("abns,bns->abs", s1, Pz)
        if len(self.composition) == 1:
            return w1, None, None
        d2 = d1 if self.composition[1] == self.composition[0] else self._direction(c, 1)
        s2 = s1 if d2 is d1 else field.propagate(d2, c[1])
        w2 = w1 if d2 is d1 else numpy.einsum("abns,bns->abs", s2, Pz)
        same = None
        if diagonal:
            j1 = self.composition[0]
            W = field.net.W
            Wd2 = W @ d2
            # (D d_1) d_2: the later direction at the state moved by the earlier kick
            moved = ((j1 + 1) * c[j1 + 1])[None, None] * self.products[0][:, None, None, :, None] * Wd2[None]
            s12 = field.propagate(moved, c[1])
            if field.scheme == "heun":  # the flow's second order over the step: D^2F[d1, d2] dt / 2
                s12 = s12 + (field.dt * c[2])[None, None] * (W @ d1)[:, None] * Wd2[None]
            same = w1[:, None] * w2[None, :]
            same -= numpy.einsum("abns,cbns->acbs", s1, G_inv @ s2)
            same += numpy.einsum("acbns,bns->acbs", s12, Pz)
        return w1, w2, same


class ConstantLogWeights:
    """Girsanov log-weight of constant polynomial shifts a[j, i] (order + 1, steps, n) (a[0] unused):
    lambda_n = sum_i a_(n,i) . G^-1 eta_i - 1/2 sum_(j+l=n) a_(j,i) . G^-1 a_(l,i); weights e_n."""

    needs_state = False

    def __init__(self, shifts: numpy.ndarray, weights: NoiseWeights, order: int):
        self.order = order
        self.vectors = weights.shift_weights(shifts)  # (order + 1, steps, r)
        steps = shifts.shape[1]
        self.constant = numpy.zeros((order + 1, steps))
        for n in range(2, order + 1):
            for j in range(1, n):
                self.constant[n] -= 0.5 * weights.bracket(shifts[j], shifts[n - j])

    def begin(self, blocks: int, size: int) -> None:
        self.lam = numpy.zeros((self.order + 1, blocks, size))

    def before(self, q: int, z: numpy.ndarray, h) -> None:
        self.lam += numpy.einsum("nr,brs->nbs", self.vectors[:, q], z)
        self.lam += self.constant[:, q, None, None]

    def weights(self) -> numpy.ndarray:
        out = numpy.stack(exp_coefficients(list(self.lam), self.order))
        self.lam = numpy.zeros_like(self.lam)
        return out


class InsideLogWeights(ConstantLogWeights):
    """The log-weight of an input inside the activation: the shift of step i is N(h_i) delta_j(h_i) with
    delta_j = c_j o U_j + 1/2 sum_(k+l=j) ((k+1) c_(k+1) o U_k) o W (c_l o U_l) (module docstring)."""

    needs_state = True

    def __init__(self, field: InsideField, powers: numpy.ndarray, weights: NoiseWeights, order: int):
        self.field, self.powers, self.noise, self.order = field, powers, weights, order

    def before(self, q: int, z: numpy.ndarray, h) -> None:
        field, U = self.field, self.powers[:, q]
        c = field.coefficients(h[0])
        direct = [None] + [c[j] * U[j][:, None] for j in range(1, self.order + 1)]
        moved = [None] + [c[k + 1] * ((k + 1) * U[k])[:, None] for k in range(1, self.order)]
        a = [None]
        for j in range(1, self.order + 1):
            delta = direct[j]
            for k in range(1, j):
                delta = delta + 0.5 * moved[k] * (field.net.W @ direct[j - k])
            a.append(field.propagate(delta, c[1]))
        Pz = self.noise.P @ z
        G_inv = self.noise.G_inv
        for n in range(1, self.order + 1):
            self.lam[n] += numpy.einsum("bns,bns->bs", a[n], Pz)
            for j in range(1, n):
                self.lam[n] -= 0.5 * numpy.einsum("bns,bns->bs", a[j], G_inv @ a[n - j])
