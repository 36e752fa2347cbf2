"""eap-anomaly: the Expected Anomaly Posterior, a quality score for auxiliary anomalies.

Quality is "higher = better auxiliary anomaly" (distinguishable from normal data, yet
realistic); detector scores (:class:`SSDO`) are "higher = more anomalous".
"""

from ._core import has_openmp
from .compare import Comparison, SetSummary, compare_sets
from .geometry import estimate_k, knn_radii, nearest_distances, rarity_scores
from .posterior import expected_anomaly_posterior
from .scorer import EAPResult, EAPScorer, score_auxiliary
from .ssdo import SSDO

__version__ = "0.1.0"

__all__ = [
    "Comparison",
    "EAPResult",
    "EAPScorer",
    "SSDO",
    "SetSummary",
    "compare_sets",
    "estimate_k",
    "expected_anomaly_posterior",
    "has_openmp",
    "knn_radii",
    "nearest_distances",
    "rarity_scores",
    "score_auxiliary",
    "__version__",
]
