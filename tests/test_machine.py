"""Signature kernels (truncated and Goursat) and the kernel ridge estimator."""

from __future__ import annotations

import pickle
import sys
from itertools import pairwise

import numpy as np
import pytest

from volterra_sym.features import estimator, machine
from volterra_sym.errors import InputError
from volterra_sym.features.feature import Basis, feature_path, response_feature
from volterra_sym.features.machine import (
    feature_gram,
    goursat_gram,
    goursat_kernel,
    level_weights,
    truncated_gram,
    truncated_kernel,
)
from volterra_sym.features.signature import signature_reference

SEED = 20240611
BASIS = Basis.spectral([-0.8 + 1.5j, -0.8 - 1.5j], shift=2.0)
DT = 0.2


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(SEED)


def test_level_weights() -> None:
    np.testing.assert_allclose(level_weights(3, 0.5), [1.0, 0.25, 0.0625, 0.015625])


def test_truncated_gram_is_weighted_inner_product(rng: np.random.Generator) -> None:
    u = rng.normal(size=(4, 11, 2))
    v = rng.normal(size=(3, 11, 2))
    level, eps = 3, 0.7
    gram = truncated_gram(u, v, dt=DT, basis=BASIS, level=level, eps=eps, refine=2)
    # Independent route: NumPy Chen recursion on the same polylines, levels weighted by hand.
    fu = signature_reference(feature_path(u, DT, BASIS, refine=2), level, scalar_term=True)
    fv = signature_reference(feature_path(v, DT, BASIS, refine=2), level, scalar_term=True)
    dim = 2 * BASIS.size
    w = np.concatenate([[1.0]] + [np.full(dim**n, eps ** (2 * n)) for n in range(1, level + 1)])
    np.testing.assert_allclose(gram, (fu * w) @ fv.T, rtol=1e-12)
    explicit = np.array([1.0, 0.0, 2.0, 0.5])
    gram_w = truncated_gram(u, v, dt=DT, basis=BASIS, level=level, weights=explicit, refine=2)
    w2 = np.concatenate([[1.0]] + [np.full(dim**n, explicit[n]) for n in range(1, level + 1)])
    np.testing.assert_allclose(gram_w, (fu * w2) @ fv.T, rtol=1e-12)


@pytest.mark.parametrize("method", ["pwlinear", "spectral"])
def test_truncated_gram_symmetric_psd(method: str, rng: np.random.Generator) -> None:
    u = rng.normal(size=(12, 9, 2))
    gram = truncated_gram(u, dt=DT, basis=BASIS, level=3, eps=0.8, method=method)
    np.testing.assert_array_equal(gram, gram.T)
    eig = np.linalg.eigvalsh(gram)
    assert eig.min() > -1e-10 * eig.max()
    k01 = truncated_kernel(u[0], u[1], dt=DT, basis=BASIS, level=3, eps=0.8, method=method)
    assert k01 == pytest.approx(gram[0, 1], rel=1e-12)


def test_goursat_gram_symmetric_psd_and_consistent(rng: np.random.Generator) -> None:
    u = rng.normal(size=(8, 9, 2)) * 0.6
    gram = goursat_gram(u, dt=DT, basis=BASIS, eps=0.8, refine=2)
    np.testing.assert_array_equal(gram, gram.T)
    eig = np.linalg.eigvalsh(gram)
    assert eig.min() > -1e-8 * eig.max()
    cross = goursat_gram(u[:3], u[3:], dt=DT, basis=BASIS, eps=0.8, refine=2)
    np.testing.assert_allclose(cross, gram[:3, 3:], rtol=1e-13)
    assert goursat_kernel(u[0], u[5], dt=DT, basis=BASIS, eps=0.8, refine=2) == pytest.approx(
        gram[0, 5], rel=1e-13
    )


@pytest.fixture
def pair(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=(11, 2)) * 0.7, rng.normal(size=(9, 2)) * 0.7


def test_truncated_kernel_converges_to_goursat(pair: tuple[np.ndarray, np.ndarray]) -> None:
    u, v = pair
    eps = 0.9
    pde = [goursat_kernel(u, v, dt=DT, basis=BASIS, eps=eps, refine=r) for r in (16, 32)]
    untruncated = (4 * pde[1] - pde[0]) / 3
    gaps = [
        abs(
            truncated_kernel(u, v, dt=DT, basis=BASIS, level=n, eps=eps, method="spectral")
            - untruncated
        )
        for n in (1, 2, 4, 6, 8)
    ]
    assert all(a > b for a, b in pairwise(gaps[:4]))
    assert gaps[-1] < 1e-8


def test_goursat_second_order(pair: tuple[np.ndarray, np.ndarray]) -> None:
    u, v = pair
    eps = 0.9
    # Reference from an independent route: the spectral truncated kernel at a high level.
    reference = truncated_kernel(u, v, dt=DT, basis=BASIS, level=8, eps=eps, method="spectral")
    errors = np.array(
        [
            abs(goursat_kernel(u, v, dt=DT, basis=BASIS, eps=eps, refine=r) - reference)
            for r in (2, 4, 8, 16)
        ]
    )
    orders = np.log2(errors[:-1] / errors[1:])
    assert np.all((orders > 1.8) & (orders < 2.3)), orders


def test_goursat_matches_pysiglib_sig_kernel(pair: tuple[np.ndarray, np.ndarray]) -> None:
    pysiglib = pytest.importorskip("pysiglib")
    u, v = pair
    eps = 0.9
    xu = np.ascontiguousarray(feature_path(u, DT, BASIS, refine=16) * eps)
    xv = np.ascontiguousarray(feature_path(v, DT, BASIS, refine=16) * eps)
    theirs = float(pysiglib.sig_kernel(xu, xv, dyadic_order=3))
    ours = goursat_kernel(u, v, dt=DT, basis=BASIS, eps=eps, refine=16)
    assert ours == pytest.approx(theirs, rel=1e-5)


def test_kernel_validation(rng: np.random.Generator) -> None:
    u = rng.normal(size=(3, 6, 2))
    with pytest.raises(InputError) as info:
        truncated_gram(u, dt=DT, basis=BASIS, level=2, eps=0.5, weights=[1, 1, 1])
    assert info.value.field == "weights"
    with pytest.raises(InputError, match="weights"):
        truncated_gram(u, dt=DT, basis=BASIS, level=2, weights=[1, 1])
    with pytest.raises(InputError, match="other"):
        goursat_gram(u, rng.normal(size=(2, 6, 3)), dt=DT, basis=BASIS)
    with pytest.raises(InputError, match="features"):
        feature_gram(np.zeros((2, 5)), dim=2, level=2)
    with pytest.raises(InputError, match="batch") as info:
        truncated_gram(u[0], dt=DT, basis=BASIS, level=2)
    assert info.value.field == "inputs"


# -- estimator ----------------------------------------------------------------------------------


def _regression_data(rng: np.random.Generator, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Targets linear in the level <= 2 features, i.e. in the model class."""
    x = rng.normal(size=(n, 12, 2)) * 0.8
    feats = response_feature(x, DT, BASIS, 2, method="spectral")
    coef = rng.normal(size=feats.shape[1])
    return x, feats @ coef + 0.3


def test_estimator_fit_predict_score(rng: np.random.Generator) -> None:
    pytest.importorskip("sklearn")
    from volterra_sym.features.estimator import SignatureKernelRidge

    x, y = _regression_data(rng)
    est = SignatureKernelRidge(basis=BASIS, level=2, dt=DT, alpha=1e-8, method="spectral")
    assert est.fit(x[:30], y[:30]) is est
    assert est.predict(x[30:]).shape == (10,)
    assert est.score(x[30:], y[30:]) > 0.99
    goursat = SignatureKernelRidge(basis=BASIS, dt=DT, alpha=1e-3, kernel="goursat", eps=0.5)
    assert goursat.fit(x[:30], y[:30]).predict(x[30:]).shape == (10,)
    multi = est.fit(x[:30], np.stack([y[:30], -y[:30]], -1)).predict(x[30:])
    assert multi.shape == (10, 2)
    one_channel = SignatureKernelRidge(dt=DT).fit(x[:10, :, 0], y[:10])
    assert one_channel.predict(x[10:12, :, 0]).shape == (2,)
    with pytest.raises(InputError, match="channels"):
        one_channel.predict(x[:2])


def test_estimator_clone_params_gridsearch_pickle(rng: np.random.Generator) -> None:
    pytest.importorskip("sklearn")
    from sklearn.base import clone, is_regressor
    from sklearn.exceptions import NotFittedError
    from sklearn.model_selection import GridSearchCV

    from volterra_sym.features.estimator import SignatureKernelRidge

    est = SignatureKernelRidge(basis=BASIS, level=2, dt=DT, alpha=0.1)
    assert is_regressor(est)
    twin = clone(est)
    assert twin.get_params() == est.get_params() and twin is not est
    assert twin.set_params(alpha=0.5, level=3).get_params()["level"] == 3
    with pytest.raises(NotFittedError):
        twin.predict(np.zeros((1, 5, 2)))
    x, y = _regression_data(rng, n=24)
    search = GridSearchCV(est, {"alpha": [1e-6, 1.0], "level": [1, 2]}, cv=3).fit(x, y)
    assert search.best_params_ == {"alpha": 1e-6, "level": 2}
    fitted = est.fit(x, y)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(x[:3]), fitted.predict(x[:3]))


def test_estimator_bad_params_raise_input_error(rng: np.random.Generator) -> None:
    pytest.importorskip("sklearn")
    from volterra_sym.features.estimator import SignatureKernelRidge

    x = rng.normal(size=(5, 6, 2))
    with pytest.raises(InputError, match="kernel"):
        SignatureKernelRidge(kernel="rbf").fit(x, np.zeros(5))
    with pytest.raises(InputError, match="inconsistent numbers of samples"):
        SignatureKernelRidge().fit(x, np.zeros(4))
    with pytest.raises(InputError, match="X"):
        SignatureKernelRidge().fit(np.zeros((5, 2, 2, 2)), np.zeros(5))


def test_missing_sklearn_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(estimator, "_ESTIMATOR_CLASS", None)
    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ImportError, match=r"pip install 'volterra-sym\[ml\]'"):
        estimator.SignatureKernelRidge  # noqa: B018
    assert callable(machine.goursat_gram)


def test_estimator_passes_sklearn_check_estimator() -> None:
    """Every common check of scikit-learn passes (tags documented in the class's Notes); only the
    checks that need pandas or SCIPY_ARRAY_API may be skipped, by scikit-learn itself."""
    pytest.importorskip("sklearn")
    import warnings

    from sklearn.utils.estimator_checks import check_estimator

    from volterra_sym.features.estimator import SignatureKernelRidge

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SkipTestWarning of the environment-dependent checks
        results = check_estimator(SignatureKernelRidge(), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert not failed, failed
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert skipped <= {"check_array_api_input", "check_regressor_data_not_an_array", "check_estimators_dtypes",
                       "check_dataframe_column_names_consistency", "check_n_features_in_after_fitting"}, skipped
    assert len(results) - len(skipped) >= 45


def test_estimator_docstring_example_runs() -> None:
    """The class is built lazily, so --doctest-modules does not see its docstring: run it here."""
    pytest.importorskip("sklearn")
    import doctest

    from volterra_sym.features.estimator import SignatureKernelRidge

    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in finder.find(SignatureKernelRidge, "SignatureKernelRidge",
                            globs={"SignatureKernelRidge": SignatureKernelRidge}):
        runner.run(test)
    assert runner.summarize(verbose=False).attempted >= 4
    assert runner.summarize(verbose=False).failed == 0
