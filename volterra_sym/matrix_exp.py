"""e^{A tau} in float64 with an error bound, and refused where float64 cannot be trusted.

Two routes, each returning the matrices and an entrywise bound of their rounding error:

* **spectral**: e^{A tau} = Re sum_l P_l e^{lambda_l tau} with the eigenvalues lambda_l and the
  rank-one projectors P_l = v_l w_l^T computed by mpmath at :data:`EIG_DPS` digits from the *exact*
  drift (so the slow eigenvalue of a stiff drift is not the rounding residue of its float64 entries)
  and rounded to float64. Accurate where the sum does not cancel: large lags, normal drifts.
* **pade**: scaling and squaring with the [13/13] Pade approximant (Higham 2005) of the float64
  drift, with a running error bound (:func:`expm_bounded`). Accurate at small lags and for
  non-normal, triangular or (nearly) defective drifts, where the spectral sum cancels.

:class:`TrustedExponential` evaluates the spectral route first and the Pade route at the lags where
an entry's bound exceeds :data:`GOOD` times the entry, keeps for every entry the value with the
smaller bound, and refuses (:class:`~volterra_sym.errors.InputError`) a lag whose remaining bound
exceeds :data:`ACCEPT` times the largest entry of e^{A tau} there ("1e-10 relative, absolute near
zero"). The bounds are first-order running error bounds with a safety factor, not guesses: they
count every rounding of the evaluation and the rounding of the drift itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy
import sympy

from .errors import InputError

__all__ = ["expm", "expm_bounded", "SpectralData", "spectral_data", "TrustedExponential", "ACCEPT", "GOOD",
           "UNIT_ROUNDOFF"]

UNIT_ROUNDOFF = 2.0**-53
#: a lag is refused when the error bound of e^{A tau} exceeds this times its largest entry
ACCEPT = 1e-10
#: an entry whose relative bound is below this needs no second route
GOOD = 1e-11
#: working digits of the eigen-decomposition of the exact drift
EIG_DPS = 40
_EIG_ERROR = 1e-28  # relative error left in the float64-rounded projectors by the EIG_DPS solve
_CHUNK = 1 << 14  # lags per block (bounded temporaries)

_PADE13 = (
    64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
    129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
    40840800.0, 960960.0, 16380.0, 182.0, 1.0,
)
_THETA13 = 5.371920351148152


def _scaling(M: numpy.ndarray) -> tuple[numpy.ndarray, numpy.ndarray]:
    norm = numpy.abs(M).sum(axis=-2).max(axis=-1) if M.size else numpy.zeros(M.shape[:-2])
    s = numpy.maximum(0, numpy.ceil(numpy.log2(numpy.maximum(norm, 1e-300) / _THETA13))).astype(int)
    return numpy.where(norm > 0, s, 0), norm


def _pade13(X: numpy.ndarray) -> numpy.ndarray:
    b = _PADE13
    eye = numpy.broadcast_to(numpy.eye(X.shape[-1]), X.shape)
    X2 = X @ X
    X4 = X2 @ X2
    X6 = X4 @ X2
    U = X @ (X6 @ (b[13] * X6 + b[11] * X4 + b[9] * X2) + b[7] * X6 + b[5] * X4 + b[3] * X2 + b[1] * eye)
    V = X6 @ (b[12] * X6 + b[10] * X4 + b[8] * X2) + b[6] * X6 + b[4] * X4 + b[2] * X2 + b[0] * eye
    return numpy.linalg.solve(V - U, V + U)


def expm(M: numpy.ndarray) -> numpy.ndarray:
    """Matrix exponential of a stack of square matrices ``(..., n, n)`` in float64.

    >>> import numpy
    >>> round(float(expm(numpy.array([[0.0, 1.0], [0.0, 0.0]]))[0, 1]), 12)
    1.0
    """
    M = numpy.asarray(M, dtype=numpy.float64)
    s, _ = _scaling(M)
    R = _pade13(M / (2.0**s)[..., None, None])
    for k in range(int(s.max()) if s.size else 0):
        R = numpy.where((s > k)[..., None, None], R @ R, R)
    return R


def expm_bounded(M: numpy.ndarray) -> tuple[numpy.ndarray, numpy.ndarray]:
    """``(expm(M), B)``: the exponential of a stack ``(..., n, n)`` and an entrywise bound ``B`` of
    its error, counting the rounding of ``M`` itself (relative, one unit) and of the evaluation.

    With mu the mean eigenvalue (trace / n) and X = (M - mu I) / 2^s, the Pade stage
    e^{mu / 2^s} r13(X) is bounded componentwise by c u (1 + ||X|| + |mu| / 2^s) e^{mu / 2^s} e^{|X|}
    (``|X|`` the entrywise absolute value); each squaring R <- R R propagates the bound both componentwise,
    |R| B + B |R| + n u |R| |R|, and normwise; the smaller is kept.

    >>> import numpy
    >>> E, B = expm_bounded(numpy.array([[-1.0, 30.0], [0.0, -2.0]]) * 1e-6)
    >>> bool(B[0, 1] < 1e-13 * abs(E[0, 1]))  # relative to the small entry itself
    True
    """
    M = numpy.asarray(M, dtype=numpy.float64)
    n = M.shape[-1]
    u = UNIT_ROUNDOFF
    # shift by the mean eigenvalue, e^M = e^mu e^{M - mu I}: e^{|X|} then bounds e^X closely
    mu = numpy.trace(M, axis1=-2, axis2=-1) / n
    shifted = M - mu[..., None, None] * numpy.eye(n)
    s, norm = _scaling(shifted)
    scale = 2.0**s
    X = shifted / scale[..., None, None]
    with numpy.errstate(under="ignore", over="ignore"):
        growth = numpy.exp(mu / scale)[..., None, None]
        R = _pade13(X) * growth
        # e^{|X|} >= |e^X| entrywise; its Pade value is an estimate of the same quality
        magnitude = numpy.abs(_pade13(numpy.abs(X))) * growth
    factor = (4 * n + 30) * u * (1.0 + (norm + numpy.abs(mu)) / scale)
    comp = factor[..., None, None] * magnitude
    normwise = _inf_norm(comp)
    for k in range(int(s.max()) if s.size else 0):
        active = s > k
        absR = numpy.abs(R)
        square = absR @ absR
        rounding = n * u * square
        new_comp = absR @ comp + comp @ absR + rounding
        new_norm = 2.0 * _inf_norm(absR) * normwise + _inf_norm(rounding)
        R = numpy.where(active[..., None, None], R @ R, R)
        comp = numpy.where(active[..., None, None], new_comp, comp)
        normwise = numpy.where(active, new_norm, normwise)
    bound = numpy.minimum(comp, normwise[..., None, None])
    return R, numpy.where(numpy.isfinite(bound), bound, numpy.inf)


def _inf_norm(B: numpy.ndarray) -> numpy.ndarray:
    return numpy.abs(B).sum(axis=-1).max(axis=-1)


@dataclass(frozen=True, slots=True)
class SpectralData:
    """e^{A tau} = sum_l q_l(tau) Q_l in real form from the eigen-decomposition of the exact drift:
    a real eigenvalue lambda gives q = e^{lambda tau}, Q = P; a complex pair a +- ib gives
    q = e^{a tau} cos(b tau), Q = 2 Re P and q = e^{a tau} sin(b tau), Q = -2 Im P (P = v w^T of a + ib).

    ``rates`` (k,) are the real parts a, ``frequencies`` (k,) the b (0 for a real eigenvalue, and
    the sine term of a pair repeats its a and b with ``sine`` set); ``Q`` is (k, n*n).
    """

    rates: numpy.ndarray
    frequencies: numpy.ndarray
    sine: numpy.ndarray  # bool (k,)
    Q: numpy.ndarray
    magnitude: numpy.ndarray  # (k, n*n): |P| (times 2 for a pair), the error scale of each term

    def evaluate(self, tau: numpy.ndarray) -> tuple[numpy.ndarray, numpy.ndarray]:
        """``(E, B)`` at lags ``tau`` (1-d): E (T, n, n) and an entrywise error bound B."""
        n2 = self.Q.shape[1]
        n = int(round(n2**0.5))
        u = UNIT_ROUNDOFF
        with numpy.errstate(under="ignore", over="ignore", invalid="ignore"):
            growth = numpy.exp(numpy.multiply.outer(tau, self.rates))  # (T, k)
            phase = numpy.multiply.outer(tau, self.frequencies)
            oscillation = numpy.where(self.sine, numpy.sin(phase), numpy.cos(phase))
            E = ((growth * oscillation) @ self.Q).reshape(-1, n, n)
            # per term: rounding of Q and of the rates (through the exponent), exp, cos/sin, products,
            # the sum of the terms, and the residue of the 40-digit eigen-solve
            speed = numpy.abs(self.rates) + numpy.abs(self.frequencies)
            relative = (2 * n + 12) * u + 2 * u * numpy.multiply.outer(tau, speed) + _EIG_ERROR
            B = ((growth * relative) @ self.magnitude).reshape(-1, n, n)
        ok = numpy.isfinite(E) & numpy.isfinite(B)
        return numpy.where(ok, E, 0.0), numpy.where(ok, B, numpy.inf)


def spectral_data(A: sympy.MatrixBase) -> SpectralData | None:
    """Eigenvalues and projectors of the exact matrix ``A`` (numbers only) at :data:`EIG_DPS` digits,
    in the real form of :class:`SpectralData`, or ``None`` when the eigen-solve fails (a defective
    matrix: the Pade route answers alone)."""
    n = A.shape[0]
    with mpmath.workdps(EIG_DPS):
        try:
            M = mpmath.matrix([[mpmath.mpf(sympy.Float(A[i, j], EIG_DPS + 10)) for j in range(n)] for i in range(n)])
            lam, V = mpmath.eig(M)
            W = mpmath.inverse(V)
        except (ZeroDivisionError, ValueError, TypeError, mpmath.libmp.libhyper.NoConvergence):
            return None
        tiny = mpmath.mpf(10) ** (-EIG_DPS + 5) * max(1, max(abs(x) for x in lam))
        rates, frequencies, sine, Q, magnitude = [], [], [], [], []
        for l, x in enumerate(lam):
            P = numpy.array([[complex(V[i, l] * W[l, j]) for j in range(n)] for i in range(n)]).reshape(-1)
            if abs(mpmath.im(x)) <= tiny:
                rates.append(float(mpmath.re(x)))
                frequencies.append(0.0)
                sine.append(False)
                Q.append(P.real)
                magnitude.append(numpy.abs(P))
            elif mpmath.im(x) > 0:  # one of each conjugate pair carries both
                for is_sine, part in ((False, 2 * P.real), (True, -2 * P.imag)):
                    rates.append(float(mpmath.re(x)))
                    frequencies.append(float(mpmath.im(x)))
                    sine.append(is_sine)
                    Q.append(part)
                    magnitude.append(2 * numpy.abs(P))
    data = SpectralData(numpy.array(rates), numpy.array(frequencies), numpy.array(sine, dtype=bool),
                        numpy.array(Q), numpy.array(magnitude))
    if len(rates) != n or not (numpy.all(numpy.isfinite(data.Q)) and numpy.all(numpy.isfinite(data.rates))):
        return None
    return data


class TrustedExponential:
    """``E = e^{A tau}`` at arrays of lags, each lag's float64 value within :data:`ACCEPT` of its
    largest entry (module docstring); an untrusted lag raises :class:`InputError` (``field``).

    ``A`` is the float64 drift; ``exact`` the same matrix with exact (SymPy) entries, for the
    spectral route (``None``: the Pade route alone).
    """

    def __init__(self, A: numpy.ndarray, exact: sympy.MatrixBase | None = None, *, field: str = "lags"):
        self.A = numpy.asarray(A, dtype=numpy.float64)
        self.spectral = spectral_data(exact) if exact is not None else None
        self.field = field

    def __call__(self, tau: numpy.typing.ArrayLike) -> numpy.ndarray:
        E, B = self.with_bound(tau)
        with numpy.errstate(invalid="ignore"):
            # entries within GOOD of themselves pass ACCEPT; only the other lags need the full check
            weak = ~numpy.all(B <= GOOD * numpy.abs(E), axis=(-2, -1))
            if not numpy.any(weak):
                return E
            scale = numpy.abs(E[weak]).max(axis=(-2, -1))
            worst = B[weak].max(axis=(-2, -1))
            bad = ~(worst <= ACCEPT * scale)
        if numpy.any(bad):
            lags = numpy.broadcast_to(numpy.asarray(tau, dtype=numpy.float64), weak.shape)[weak]
            k = int(numpy.argmax(bad))
            t, b, sc = float(lags[k]), float(worst[k]), float(scale[k])
            ratio = "an infinite" if not numpy.isfinite(b) or sc == 0 else f"{b / sc:.1e} times its largest entry as"
            raise InputError(
                f"e^(A tau) at tau = {t:.6g} cannot be evaluated to {ACCEPT:g} relative accuracy in float64 "
                f"({ratio} error bound); the drift is too stiff or too non-normal at this lag", field=self.field)
        return E

    def with_bound(self, tau: numpy.typing.ArrayLike) -> tuple[numpy.ndarray, numpy.ndarray]:
        """``(E, B)``: e^{A tau} (shape tau.shape + (n, n)) and an entrywise error bound."""
        tau = numpy.asarray(tau, dtype=numpy.float64)
        n = self.A.shape[0]
        flat = tau.reshape(-1)
        E = numpy.empty((flat.size, n, n))
        B = numpy.empty((flat.size, n, n))
        for start in range(0, flat.size, _CHUNK):
            part = flat[start : start + _CHUNK]
            E[start : start + part.size], B[start : start + part.size] = self._block(part)
        return E.reshape(tau.shape + (n, n)), B.reshape(tau.shape + (n, n))

    def _block(self, tau: numpy.ndarray) -> tuple[numpy.ndarray, numpy.ndarray]:
        if self.spectral is None:
            return expm_bounded(tau[:, None, None] * self.A)
        E, B = self.spectral.evaluate(tau)
        weak = ~numpy.all(B <= GOOD * numpy.abs(E), axis=(-2, -1))
        if numpy.any(weak):
            E2, B2 = expm_bounded(tau[weak, None, None] * self.A)
            better = B2 < B[weak]
            E[weak] = numpy.where(better, E2, E[weak])
            B[weak] = numpy.where(better, B2, B[weak])
        return E, B
