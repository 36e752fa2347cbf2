"""eap-anomaly: the Expected Anomaly Posterior, a quality score for auxiliary anomalies.

Higher quality = better auxiliary anomaly (distinguishable from normal data, yet realistic).
"""

from ._core import has_openmp
from .geometry import estimate_k, knn_radii, rarity_scores

__version__ = "0.1.0"

__all__ = ["estimate_k", "has_openmp", "knn_radii", "rarity_scores", "__version__"]
