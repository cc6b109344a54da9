"""``SignatureKernelRidge``: kernel ridge regression on the signature kernels of :mod:`.machine`.

scikit-learn (``pip install 'volterra-sym[ml]'``) is imported when the class is first used: the
class is built on first access of ``volterra_sym.features.estimator.SignatureKernelRidge``.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ..errors import InputError
from .basis import Basis, _check_basis
from .feature import response_feature
from .machine import _as_batch, feature_gram, goursat_gram
from .signature import FloatArray

__all__: list[str] = []

_ML_HINT = "SignatureKernelRidge needs scikit-learn: pip install 'volterra-sym[ml]'"


_ESTIMATOR_CLASS: type | None = None


def _require_sklearn() -> tuple[type, type, type]:
    try:
        from sklearn.base import BaseEstimator, RegressorMixin
        from sklearn.kernel_ridge import KernelRidge
    except ImportError as err:
        raise ImportError(_ML_HINT) from err
    return BaseEstimator, RegressorMixin, KernelRidge


def _build_estimator_class() -> type:
    base_estimator, regressor_mixin, kernel_ridge = _require_sklearn()
    from sklearn.utils.validation import check_is_fitted, validate_data

    class SignatureKernelRidge(regressor_mixin, base_estimator):  # type: ignore[misc,valid-type]
        """Kernel ridge regression with the signature kernel of response features.

        Trains a linear readout on ``Phi(u)`` (theory.md, section 6) through its kernel:
        computes the Gram matrix of the training inputs and delegates to
        ``sklearn.kernel_ridge.KernelRidge(kernel="precomputed")``.

        Parameters
        ----------
        basis : Basis, optional
            Support basis; default ``Basis.monomial(0)`` (``psi = 1``, ``X = int u``).
        level : int, default 3
            Truncation level (``kernel="truncated"``).
        dt : float, default 1.0
            Sample spacing of the input signals.
        eps : float, default 1.0
            Level weights ``eps^(2n)``.
        alpha : float, default 1.0
            Ridge penalty, as in ``KernelRidge``.
        kernel : {"truncated", "goursat"}, default "truncated"
            Truncated signature kernel, or the untruncated kernel by the Goursat PDE.
        method : {"pwlinear", "spectral"}, default "pwlinear"
            Feature route for ``kernel="truncated"``.
        refine : int, default 1
            Sub-intervals per sample interval (feature polyline or PDE grid).

        Attributes
        ----------
        ridge_ : KernelRidge
            The fitted regressor on the precomputed Gram matrix.
        n_features_in_ : int
            Samples per path ``T`` (``X.shape[1]``, scikit-learn's reading of the second axis);
            `predict` needs the same ``T``.
        n_channels_ : int
            Input channels ``m`` seen in `fit`.
        train_features_ : numpy.ndarray
            Training features (truncated kernel).
        train_inputs_ : numpy.ndarray
            Training signals (Goursat kernel).

        Notes
        -----
        ``X`` has shape (n_samples, T, m), or (n_samples, T) for one channel; all signals share
        ``dt`` and ``T``. The estimator follows scikit-learn's conventions and passes every check
        of ``sklearn.utils.estimator_checks.check_estimator`` (tests/test_machine.py), with these
        tags, each for a reason:

        - ``input_tags.three_d_array``: ``X`` is a batch of paths;
        - ``target_tags.multi_output``: a 2-D ``y`` fits one ridge per column;
        - ``regressor_tags.poor_score``: the common checks read tabular data as one-channel paths,
          on which a signature kernel is no model (its ``R^2`` there says nothing).

        Invalid input raises :class:`~volterra_sym.errors.InputError` (a ``ValueError``) with
        scikit-learn's wording; sparse input raises its ``TypeError``.

        Examples
        --------
        >>> import numpy as np
        >>> t = np.linspace(0, 1, 20)
        >>> X = np.stack([np.sin(w * t) for w in np.linspace(1, 4, 12)])       # 12 one-channel paths
        >>> y = np.trapezoid(X, t, axis=1) ** 2      # (int u)^2: twice the level-2 signature term
        >>> model = SignatureKernelRidge(level=2, dt=t[1], alpha=1e-9).fit(X, y)
        >>> model.n_features_in_, model.n_channels_
        (20, 1)
        >>> bool(np.abs(model.predict(X) - y).max() < 1e-6)
        True
        """

        def __init__(
            self,
            basis: Basis | None = None,
            level: int = 3,
            dt: float = 1.0,
            eps: float = 1.0,
            alpha: float = 1.0,
            kernel: str = "truncated",
            method: Literal["pwlinear", "spectral"] = "pwlinear",
            refine: int = 1,
        ) -> None:
            self.basis = basis
            self.level = level
            self.dt = dt
            self.eps = eps
            self.alpha = alpha
            self.kernel = kernel
            self.method = method
            self.refine = refine

        def __sklearn_tags__(self) -> Any:
            tags = super().__sklearn_tags__()
            tags.input_tags.three_d_array = True  # (n_samples, T, m): a batch of m-channel paths
            tags.target_tags.multi_output = True  # KernelRidge fits every column of a 2-D y
            # scikit-learn's common checks read tabular data as one-channel paths; a signature
            # kernel is not a model for tabular data, so a poor score there says nothing
            tags.regressor_tags.poor_score = True
            return tags

        def _basis(self) -> Basis:
            return Basis.monomial(0) if self.basis is None else _check_basis(self.basis)

        def _validate(self, X: npt.ArrayLike, y: npt.ArrayLike | None = None, *,
                      reset: bool) -> tuple[FloatArray, FloatArray | None]:
            """scikit-learn's validation (its wording for empty, complex, sparse, non-finite input,
            ``n_features_in_``), then the path shape; errors are :class:`InputError`."""
            if reset and y is None:
                raise InputError(f"{type(self).__name__} requires y to be passed, but the target y is None",
                                 field="y")
            # a path needs two samples; predict then needs the T of fit (n_features_in_)
            options = {"allow_nd": True, "dtype": np.float64, "reset": reset, "ensure_min_features": 2 if reset else 1}
            try:
                if reset:
                    X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, **options)
                else:
                    X = validate_data(self, X, **options)
            except ValueError as err:
                raise InputError(str(err)) from err
            arr = np.asarray(X)
            if arr.ndim == 2:
                arr = arr[:, :, None]
            if arr.ndim != 3:
                raise InputError(
                    f"must have shape (n_samples, T, m) or (n_samples, T), got {arr.shape}",
                    field="X",
                )
            return _as_batch(arr, "X"), (None if y is None else np.asarray(y, dtype=np.float64))

        def _gram(self, X: FloatArray, train: bool) -> FloatArray:
            if self.kernel == "truncated":
                feats = response_feature(
                    X,
                    self.dt,
                    self._basis(),
                    self.level,
                    method=self.method,
                    refine=self.refine,
                )
                if train:
                    self.train_features_ = feats
                    other = None
                else:
                    other = self.train_features_
                return feature_gram(
                    feats,
                    other,
                    dim=X.shape[-1] * self._basis().size,
                    level=self.level,
                    eps=self.eps,
                )
            if self.kernel == "goursat":
                if train:
                    self.train_inputs_ = X
                    return goursat_gram(
                        X, dt=self.dt, basis=self._basis(), eps=self.eps, refine=self.refine
                    )
                return goursat_gram(
                    X,
                    self.train_inputs_,
                    dt=self.dt,
                    basis=self._basis(),
                    eps=self.eps,
                    refine=self.refine,
                )
            raise InputError(
                f"must be 'truncated' or 'goursat', got {self.kernel!r}", field="kernel"
            )

        def fit(self, X: npt.ArrayLike, y: npt.ArrayLike) -> SignatureKernelRidge:
            """Fit on signals `X` (n_samples, T, m) or (n_samples, T), and targets `y`
            (n_samples,) or (n_samples, n_targets)."""
            signals, target = self._validate(X, y, reset=True)
            self.n_channels_ = signals.shape[-1]
            gram = self._gram(signals, train=True)
            self.ridge_ = kernel_ridge(alpha=self.alpha, kernel="precomputed").fit(gram, target)
            return self

        def predict(self, X: npt.ArrayLike) -> FloatArray:
            """Predictions for signals `X` of the shape seen in `fit` (same T and channels)."""
            check_is_fitted(self, "ridge_")
            signals, _ = self._validate(X, reset=False)
            if signals.shape[-1] != self.n_channels_:
                raise InputError(
                    f"has {signals.shape[-1]} channels, the model was fitted on {self.n_channels_}",
                    field="X",
                )
            return np.asarray(self.ridge_.predict(self._gram(signals, train=False)))

    # Picklable as volterra_sym.machine.SignatureKernelRidge (resolved by __getattr__).
    SignatureKernelRidge.__module__ = __name__
    SignatureKernelRidge.__qualname__ = "SignatureKernelRidge"
    return SignatureKernelRidge


def __getattr__(name: str) -> Any:
    if name == "SignatureKernelRidge":
        global _ESTIMATOR_CLASS
        if _ESTIMATOR_CLASS is None:
            _ESTIMATOR_CLASS = _build_estimator_class()
        return _ESTIMATOR_CLASS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
