"""scikit-learn's own estimator checks on SSDO and EAPScorer (issue 15).

Both are semi-supervised anomaly detectors: ``fit(X, y)`` needs binary labels (1 = anomaly,
0 = normal, or +1/-1), declared through ``__sklearn_tags__``. The checks that cannot apply are
listed in ``EXPECTED_FAILED`` with the reason; ``xfail_strict`` makes a check that starts passing
fail the suite, so the list stays true.
"""

from __future__ import annotations

from typing import Any, Dict

import pytest

sklearn = pytest.importorskip("sklearn")
if tuple(int(part) for part in sklearn.__version__.split(".")[:2]) < (1, 6):
    # tags (__sklearn_tags__) and expected_failed_checks are scikit-learn 1.6 API
    pytest.skip("scikit-learn's estimator checks need scikit-learn >= 1.6", allow_module_level=True)
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from eap_anomaly import SSDO, EAPScorer  # noqa: E402

LABELS = ("labels must be 0/1 or -1/+1 (1 = anomaly, SPEC section 0); the check fits on labels "
          "{1, 2}, which name no anomaly class")

EXPECTED_FAILED: Dict[str, str] = {
    "check_estimators_dtypes": LABELS,
    "check_fit2d_1feature": LABELS,
    "check_n_features_in_after_fitting": (
        "candidates are the argument Z, and errors name the argument ('Z has 1 features but the "
        "model was fitted with 4'); the check wants the literal 'X has 1 features, but ...'"),
}


def expected_failed(estimator: Any) -> Dict[str, str]:
    return dict(EXPECTED_FAILED)


@parametrize_with_checks([SSDO(random_state=0), EAPScorer(random_state=0)],
                         expected_failed_checks=expected_failed)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
