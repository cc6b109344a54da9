"""Support bases psi(s) of the response feature (theory.md 6): monomials, Legendre polynomials on [0, T],
exponentials, and the spectral basis of a drift matrix (exp-polynomial terms from its eigenvalues)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from numpy.polynomial import legendre as _leg

from ..errors import InputError
from .signature import FloatArray, _check_int

__all__ = ["Basis", "ExpPolyTerm"]

_PARTS = ("re", "im")


@dataclass(frozen=True, slots=True)
class ExpPolyTerm:
    """One basis function ``part( z^power * exp(rate * z) )`` with ``z = s - shift``.

    ``part`` is ``"re"`` or ``"im"``; a real `rate` with ``part="re"`` is the plain
    ``z^power e^{rate z}``.
    """

    power: int
    rate: complex
    part: str = "re"

    def __post_init__(self) -> None:
        if self.power < 0:
            raise InputError(f"must be >= 0, got {self.power}", field="power")
        if self.part not in _PARTS:
            raise InputError(f"must be 're' or 'im', got {self.part!r}", field="part")


@dataclass(frozen=True, slots=True, repr=False)
class Basis:
    """Support basis ``psi(s) = (psi_0(s), ..., psi_{d-1}(s))`` on the input horizon.

    Build it with a constructor: :meth:`monomial`, :meth:`legendre`, :meth:`exponential`,
    :meth:`spectral` or :meth:`from_matrix`. Every kind except Legendre is a list of
    :class:`ExpPolyTerm`; Legendre polynomials are evaluated by their recurrence for
    stability.

    Attributes
    ----------
    kind : {"monomial", "legendre", "exponential", "spectral"}
    terms : tuple of ExpPolyTerm
        Empty for Legendre.
    degree : int
        Highest polynomial degree (all kinds).
    horizon : float or None
        Interval length ``T`` of a Legendre basis, else None.
    shift : float
        Origin ``s0`` of ``z = s - s0`` in exponential and spectral bases.
    """

    kind: Literal["monomial", "legendre", "exponential", "spectral"]
    terms: tuple[ExpPolyTerm, ...] = ()
    degree: int = 0
    horizon: float | None = None
    shift: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("monomial", "legendre", "exponential", "spectral"):
            raise InputError(f"unknown basis kind {self.kind!r}", field="kind")
        if self.kind == "legendre":
            if self.horizon is None or not self.horizon > 0 or self.terms:
                raise InputError("a Legendre basis needs horizon > 0 and no terms", field="kind")
        elif not self.terms:
            raise InputError(f"a {self.kind} basis needs at least one term", field="terms")

    # -- constructors -------------------------------------------------------------------------

    @classmethod
    def monomial(cls, degree: int) -> Basis:
        """Monomials ``psi_j(s) = s^j``, ``j = 0..degree`` (``degree + 1`` functions).

        The truncated Taylor basis of the kernels in ``s``; approximate.

        Examples
        --------
        >>> Basis.monomial(2).evaluate([2.0]).tolist()
        [[1.0, 2.0, 4.0]]
        """
        degree = _check_degree(degree)
        return cls("monomial", tuple(ExpPolyTerm(j, 0.0) for j in range(degree + 1)), degree)

    @classmethod
    def legendre(cls, degree: int, horizon: float) -> Basis:
        """Shifted Legendre polynomials ``psi_j(s) = P_j(2 s / T - 1)`` on ``[0, T]``.

        Parameters
        ----------
        degree : int
            Highest degree; ``degree + 1`` functions.
        horizon : float
            ``T > 0``.
        """
        degree = _check_degree(degree)
        horizon = _check_real(horizon, "horizon")
        if horizon <= 0:
            raise InputError(f"must be > 0, got {horizon}", field="horizon")
        return cls("legendre", (), degree, horizon)

    @classmethod
    def exponential(cls, rates: npt.ArrayLike, *, shift: float = 0.0) -> Basis:
        """Exponentials ``psi_j(s) = exp(r_j (s - shift))`` with given real, distinct rates.

        Note the sign: this takes rates ``r_j`` as given; :meth:`spectral` takes eigenvalues
        ``lambda`` and uses ``exp(-lambda s)``.

        Examples
        --------
        >>> Basis.exponential([0.0, -1.0]).evaluate([1.0]).round(4).tolist()
        [[1.0, 0.3679]]
        """
        arr = _real_vector(rates, "rates")
        if np.unique(arr).size != arr.size:
            raise InputError(f"must be distinct, got {arr.tolist()}", field="rates")
        shift = _check_real(shift, "shift")
        return cls("exponential", tuple(ExpPolyTerm(0, float(r)) for r in arr), 0, None, shift)

    @classmethod
    def spectral(
        cls, eigenvalues: npt.ArrayLike, *, shift: float = 0.0, tol: float = 1e-5
    ) -> Basis:
        """Real basis spanning the entries of ``exp(-A (s - shift))`` from the eigenvalues of A.

        For the OU SRNN, ``e^{A(t-s)} = e^{At} e^{-As}``, so the kernels are exact combinations
        of these functions of ``s``:

        - a real eigenvalue ``lambda`` gives ``exp(-lambda z)``;
        - a complex pair ``lambda = -a +- i b`` (``b > 0``) gives ``exp(a z) cos(b z)`` and
          ``exp(a z) sin(b z)``;
        - an eigenvalue of multiplicity ``k`` (a possible Jordan block) adds ``z^p`` times the
          above for ``p = 1..k-1``.

        with ``z = s - shift``. Choosing ``shift = T`` keeps every exponential factor bounded by
        1 on ``[0, T]`` for a Hurwitz A (better conditioned features); it only rescales the
        coefficients of the expansion.

        Parameters
        ----------
        eigenvalues : array_like of complex
            All eigenvalues of a real matrix, with multiplicity (conjugate pairs both present).
        shift : float, default 0
        tol : float, default 1e-5
            Eigenvalues closer than ``tol * max(1, |lambda|)`` count as one repeated eigenvalue
            (numerical eigenvalues of a defective matrix are split by about ``eps^(1/k)``).

        Examples
        --------
        >>> b = Basis.spectral([-1.0 + 2.0j, -1.0 - 2.0j, -0.5])
        >>> b.labels
        ('exp(1 s)cos(2 s)', 'exp(1 s)sin(2 s)', 'exp(0.5 s)')
        """
        try:
            lam = np.atleast_1d(np.asarray(eigenvalues, dtype=np.complex128))
        except (TypeError, ValueError) as err:
            raise InputError(f"not numeric ({err})", field="eigenvalues") from err
        if lam.ndim != 1 or lam.size == 0 or not np.all(np.isfinite(lam)):
            raise InputError(
                f"must be a non-empty 1-D array of finite numbers, got {lam!r}",
                field="eigenvalues",
            )
        tol = _check_real(tol, "tol")
        shift = _check_real(shift, "shift")
        terms: list[ExpPolyTerm] = []
        for value, mult in _cluster_eigenvalues(lam, tol):
            for p in range(mult):
                if value.imag == 0.0:
                    terms.append(ExpPolyTerm(p, -value.real))
                else:
                    rate = complex(-value.real, abs(value.imag))
                    terms.append(ExpPolyTerm(p, rate, "re"))
                    terms.append(ExpPolyTerm(p, rate, "im"))
        degree = max(t.power for t in terms)
        return cls("spectral", tuple(terms), degree, None, shift)

    @classmethod
    def from_matrix(cls, matrix: npt.ArrayLike, *, shift: float = 0.0, tol: float = 1e-5) -> Basis:
        """:meth:`spectral` basis from the eigenvalues of a real square matrix ``A``."""
        try:
            arr = np.asarray(matrix, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise InputError(f"must be a real square matrix ({err})", field="matrix") from err
        if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.size == 0:
            raise InputError(f"must be a real square matrix, got shape {arr.shape}", field="matrix")
        if not np.all(np.isfinite(arr)):
            raise InputError("contains NaN or infinite values", field="matrix")
        return cls.spectral(np.linalg.eigvals(arr), shift=shift, tol=tol)

    def __repr__(self) -> str:
        if self.kind == "monomial":
            return f"Basis.monomial({self.degree})"
        if self.kind == "legendre":
            return f"Basis.legendre({self.degree}, {self.horizon!r})"
        if self.kind == "exponential":
            rates = [complex(t.rate).real for t in self.terms]
            return f"Basis.exponential({rates!r}, shift={self.shift!r})"
        eigenvalues: list[complex] = []
        for t in self.terms:
            lam = -complex(t.rate)
            if lam.imag == 0.0:
                eigenvalues.append(complex(lam.real, 0.0))
            elif t.part == "re":
                eigenvalues += [lam, lam.conjugate()]
        return f"Basis.spectral({eigenvalues!r}, shift={self.shift!r})"

    # -- evaluation ---------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Number of functions ``d``."""
        return self.degree + 1 if self.kind == "legendre" else len(self.terms)

    @property
    def labels(self) -> tuple[str, ...]:
        """Readable names of the functions, in column order."""
        if self.kind == "legendre":
            return tuple(f"P{j}(2s/{self.horizon:g}-1)" for j in range(self.size))
        var = "s" if self.shift == 0.0 else "z"
        return tuple(_term_label(t, var) for t in self.terms)

    def evaluate(self, s: npt.ArrayLike) -> FloatArray:
        """Values ``psi_j(s_i)``, shape (len(s), d)."""
        return self._eval(s, derivative=False)

    def derivative(self, s: npt.ArrayLike) -> FloatArray:
        """Exact derivatives ``psi_j'(s_i)``, shape (len(s), d)."""
        return self._eval(s, derivative=True)

    def integrate(self, a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
        """``int_a^b psi(s) ds``, shape (n, d) for ``a``, ``b`` of shape (n,).

        Gauss-Legendre with enough nodes for the length and rates: exact for polynomials,
        accurate to rounding for exponentials.
        """
        a_arr = np.atleast_1d(np.asarray(a, dtype=np.float64))
        b_arr = np.atleast_1d(np.asarray(b, dtype=np.float64))
        a_arr, b_arr = np.broadcast_arrays(a_arr, b_arr)
        if a_arr.ndim != 1:
            raise InputError(f"must be 1-D, got shape {a_arr.shape}", field="a")
        if not (np.all(np.isfinite(a_arr)) and np.all(np.isfinite(b_arr))):
            raise InputError("limits must be finite", field="a")
        longest = float(np.max(np.abs(b_arr - a_arr))) if a_arr.size else 0.0
        x, w = np.polynomial.legendre.leggauss(self._gauss_order(longest, extra_degree=0))
        mid, half = 0.5 * (a_arr + b_arr), 0.5 * (b_arr - a_arr)
        vals = self.evaluate((mid[:, None] + half[:, None] * x[None, :]).ravel())
        vals = vals.reshape(a_arr.size, x.size, self.size)
        return half[:, None] * np.einsum("q,nqd->nd", w, vals)

    def _eval(self, s: npt.ArrayLike, *, derivative: bool) -> FloatArray:
        arr = np.asarray(s, dtype=np.float64)
        if arr.ndim > 1:
            raise InputError(f"must be a scalar or 1-D, got shape {arr.shape}", field="s")
        arr = np.atleast_1d(arr)
        if self.kind == "legendre":
            assert self.horizon is not None
            x = 2.0 * arr / self.horizon - 1.0
            if not derivative:
                return np.asarray(_leg.legvander(x, self.degree), dtype=np.float64)
            out = np.empty((arr.size, self.size))
            for j in range(self.size):
                out[:, j] = _leg.legval(x, _leg.legder(np.eye(self.size)[j])) * (2.0 / self.horizon)
            return out
        z = arr - self.shift
        out = np.empty((arr.size, self.size))
        for j, t in enumerate(self.terms):
            e = np.exp(t.rate * z)
            if derivative:
                val = t.rate * z**t.power * e
                if t.power:
                    val = val + t.power * z ** (t.power - 1) * e
            else:
                val = z**t.power * e
            out[:, j] = np.real(val) if t.part == "re" else np.imag(val)
        return out

    def _max_rate(self) -> float:
        return max((abs(complex(t.rate)) for t in self.terms), default=0.0)

    def _gauss_order(self, length: float, extra_degree: int) -> int:
        """Gauss-Legendre points for ``int psi * (polynomial of extra_degree)`` on `length`."""
        poly = (self.degree + extra_degree) // 2 + 1
        z = self._max_rate() * length
        if z == 0.0:
            return poly
        # Error bound of the q-point rule for exp(z x) on [0, 1]:
        # z^(2q) (q!)^4 / ((2q+1) ((2q)!)^3); stop below 1e-17.
        for q in range(1, 200):
            log_err = (
                2 * q * math.log(z)
                + 4 * math.lgamma(q + 1)
                - math.log(2 * q + 1)
                - 3 * math.lgamma(2 * q + 1)
            )
            if log_err < math.log(1e-17):
                return poly + q
        return poly + 200


def _term_label(t: ExpPolyTerm, var: str) -> str:
    rate = complex(t.rate)
    poly = "" if t.power == 0 else (var if t.power == 1 else f"{var}^{t.power}")
    if rate == 0:
        return poly or "1"
    if rate.imag == 0:
        core = f"exp({rate.real:g} {var})"
    else:
        trig = "cos" if t.part == "re" else "sin"
        core = f"exp({rate.real:g} {var}){trig}({rate.imag:g} {var})"
    return f"{poly} {core}" if poly else core


#: highest degree of a polynomial basis (Legendre of degree 100 is still well conditioned)
MAX_DEGREE = 100


def _check_degree(degree: object) -> int:
    degree = _check_int(degree, "degree", 0)
    if degree > MAX_DEGREE:
        raise InputError(f"degree {degree} exceeds {MAX_DEGREE}", field="degree")
    return degree


def _check_real(value: object, field: str) -> float:
    if isinstance(value, bool):
        raise InputError(f"must be a real number, got {value!r}", field=field)
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as err:
        raise InputError(f"must be a real number, got {value!r}", field=field) from err
    if not math.isfinite(out):
        raise InputError(f"must be finite, got {out}", field=field)
    return out


def _real_vector(values: npt.ArrayLike, field: str) -> FloatArray:
    try:
        arr = np.atleast_1d(np.asarray(values))
    except (TypeError, ValueError) as err:
        raise InputError(f"not numeric ({err})", field=field) from err
    if np.iscomplexobj(arr):
        raise InputError("must be real (use Basis.spectral for complex eigenvalues)", field=field)
    try:
        arr = arr.astype(np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"not numeric ({err})", field=field) from err
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
        raise InputError(
            f"must be a non-empty 1-D array of finite numbers, got {arr.tolist()}", field=field
        )
    return arr


def _cluster_eigenvalues(lam: npt.NDArray[np.complex128], tol: float) -> list[tuple[complex, int]]:
    """Group eigenvalues into (representative, multiplicity); one entry per conjugate pair."""
    remaining = list(lam)
    clusters: list[list[complex]] = []
    while remaining:
        seed = remaining.pop(0)
        scale = tol * max(1.0, abs(seed))
        members = [seed] + [v for v in remaining if abs(v - seed) <= scale]
        remaining = [v for v in remaining if abs(v - seed) > scale]
        clusters.append(members)
    centres = [(complex(np.mean(c)), len(c)) for c in clusters]
    out: list[tuple[complex, int]] = []
    used = [False] * len(centres)
    for i, (centre, mult) in enumerate(centres):
        if used[i]:
            continue
        used[i] = True
        scale = tol * max(1.0, abs(centre))
        if abs(centre.imag) <= scale:
            out.append((complex(centre.real, 0.0), mult))
            continue
        partner = next(
            (
                k
                for k, (c, _) in enumerate(centres)
                if not used[k] and abs(c - centre.conjugate()) <= scale
            ),
            None,
        )
        if partner is None or centres[partner][1] != mult:
            raise InputError(
                f"complex eigenvalue {centre:.6g} (multiplicity {mult}) has no conjugate partner"
                " of equal multiplicity; pass all eigenvalues of a real matrix",
                field="eigenvalues",
            )
        used[partner] = True
        out.append((complex(centre.real, abs(centre.imag)), mult))
    return out


def _check_basis(basis: object) -> Basis:
    if not isinstance(basis, Basis):
        raise InputError(
            f"must be a volterra_sym.feature.Basis, got {type(basis).__name__}", field="basis"
        )
    return basis


# Memory budget (float64 entries) for intermediate arrays; work is chunked to stay below it.
