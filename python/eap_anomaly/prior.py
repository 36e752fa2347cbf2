"""SSDO's unsupervised prior: the Isolation Forest of SPEC section 4.1, evaluated in the C++ core,
or a k-NN distance.

The forest is built in the core (``"native"``) or by scikit-learn (``"sklearn"``); either way
its trees are kept as plain node arrays, so scoring runs across threads without the GIL and a
fitted model can be saved without pickle. With ``"sklearn"``, raw scores equal
``-IsolationForest.score_samples`` bit for bit. ``"knn"`` (not SPEC; docs/quality.md) scores a
point by its distance to the k-th nearest training row, k being SSDO's bandwidth rank.
"""

from __future__ import annotations

import numbers
import operator
import threading
from dataclasses import dataclass, fields
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.utils import check_random_state

from . import _core
from ._validation import check_choice, safe_scale, scale_for_peak, scaled

#: How the forest is built: in the core, or by scikit-learn (the reference for exact comparisons).
FORESTS = ("native", "sklearn")
#: SSDO's priors: a forest, or the k-NN distance (:class:`NeighbourPrior`).
PRIORS = FORESTS + ("knn",)
#: Rows drawn per tree, at most (scikit-learn's max_samples="auto").
MAX_SAMPLES = 256
#: The node arrays of a forest, in the order the core takes and returns them.
NODE_ARRAYS = ("root", "left", "right", "feature", "threshold", "leaf_value")

_seeding = threading.local()


def native_seed(random_state: Any) -> int:
    """The native forest's 64-bit seed: ``check_random_state(random_state).randint(0, 2**64)``.

    An integer reseeds one ``RandomState`` kept per thread instead of constructing one: the
    constructor first seeds itself from OS entropy (about 0.2 ms), once per bagging round."""
    if isinstance(random_state, numbers.Integral):
        rng = getattr(_seeding, "rng", None)
        if rng is None:
            rng = _seeding.rng = np.random.RandomState()
        rng.seed(operator.index(random_state))
    else:
        rng = check_random_state(random_state)
    return int(rng.randint(0, 2**64, dtype=np.uint64))


def average_path_length(n_samples: np.ndarray) -> np.ndarray:
    """c(n): average path length of an unsuccessful search in a binary search tree of n nodes,
    written as scikit-learn writes it so that the floating-point results are identical."""
    n = np.asarray(n_samples, dtype=np.float64)
    out = np.zeros_like(n)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


def node_depths(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Depth of every node, the root counted as 1 (scikit-learn's decision-path length)."""
    depth = np.zeros(left.shape[0], dtype=np.int64)
    depth[0] = 1
    for node in range(left.shape[0]):  # children come after their parent
        if left[node] != -1:
            depth[left[node]] = depth[right[node]] = depth[node] + 1
    return depth


@dataclass
class IsolationPrior:
    """An Isolation Forest: the node arrays of every tree, concatenated (children as absolute
    indices). The arrays live once, in the core's walker, and are exported when read."""

    root: np.ndarray
    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    leaf_value: np.ndarray
    n_features: int
    denominator: float
    scale: float  # power of two applied to the data first: the trees are float32

    @classmethod
    def fit(cls, X: np.ndarray, n_estimators: int, random_state: Any, threads: int,
            kind: str) -> "IsolationPrior":
        """Fit a forest of ``n_estimators`` trees on ``min(256, n)`` rows each with ``threads``
        threads; the forest does not depend on the thread count.

        ``kind="native"`` builds it in the core from one draw of ``random_state`` (equal in
        distribution to scikit-learn's, not bit for bit); ``kind="sklearn"`` fits
        scikit-learn's ``IsolationForest``."""
        check_choice(kind, "prior", FORESTS)
        # Random split points scale exactly with a power of two, so the forest is unchanged by
        # this rescaling except that float64 data beyond float32's range no longer overflow.
        scale = safe_scale(X, dtype=np.dtype(np.float32))
        X_scaled = scaled(X, scale)
        if kind == "native":
            max_samples = min(MAX_SAMPLES, X.shape[0])
            seed = native_seed(random_state)
            nodes = _core.build_isolation_forest(np.ascontiguousarray(X_scaled, dtype=np.float32),
                                                 n_estimators, max_samples, seed, threads)
            return cls._walked_by(_core.IsolationForestPaths(*nodes, X.shape[1]), X.shape[1],
                                  native_denominator(n_estimators, max_samples), scale)
        forest = IsolationForest(n_estimators=n_estimators, max_samples="auto", n_jobs=threads,
                                 random_state=random_state).fit(X_scaled)
        roots, lefts, rights, features, thresholds, values = [], [], [], [], [], []
        offset = 0
        for tree in forest.estimators_:
            t = tree.tree_
            leaf = t.children_left == -1
            leaf_value = (node_depths(t.children_left, t.children_right)
                          + average_path_length(t.n_node_samples)) - 1.0
            roots.append(offset)
            lefts.append(np.where(leaf, -1, t.children_left + offset))
            rights.append(np.where(leaf, -1, t.children_right + offset))
            features.append(np.where(leaf, 0, t.feature))
            thresholds.append(t.threshold)
            values.append(leaf_value)
            offset += t.node_count
        denominator = float(len(forest.estimators_) * average_path_length(np.array([forest.max_samples_]))[0])
        left, right, feature = (np.concatenate(a).astype(np.int64) for a in (lefts, rights, features))
        return cls(np.asarray(roots, dtype=np.int64), left, right, feature,
                   np.concatenate(thresholds).astype(np.float64),
                   np.concatenate(values).astype(np.float64), X.shape[1], denominator, scale)

    def __post_init__(self) -> None:
        # Built now, not on first use: a fitted or loaded prior is complete for every thread.
        self._paths = _core.IsolationForestPaths(self.root, self.left, self.right, self.feature,
                                                 self.threshold, self.leaf_value, self.n_features)
        for name in NODE_ARRAYS:  # the walker holds them now; exported when read (__getattr__)
            del self.__dict__[name]

    @classmethod
    def _walked_by(cls, paths: Any, n_features: int, denominator: float,
                   scale: float) -> "IsolationPrior":
        """The prior whose walker ``paths`` the core has built; its node arrays stay in the core
        (see :meth:`__getattr__`)."""
        prior = cls.__new__(cls)
        prior.n_features, prior.denominator, prior.scale = n_features, denominator, scale
        prior._paths = paths
        return prior

    def __getattr__(self, name: str) -> Any:
        # A prior holds its nodes once, in the core's walker; its node arrays are exported when
        # read (saving, pickling, comparing). A hundred bagging rounds' arrays would be about
        # 1 MB each, held twice (a loaded or unpickled model) or copied under the GIL (a fit).
        if name in NODE_ARRAYS and "_paths" in self.__dict__:
            return self._paths.node_arrays()[NODE_ARRAYS.index(name)]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def raw_scores(self, Z: np.ndarray, threads: int) -> np.ndarray:
        """s(z) = -score_samples(z): higher = more anomalous."""
        return self._scores(self._paths.depths(self._walkable(Z), threads))

    def _walkable(self, Z: np.ndarray) -> np.ndarray:
        """Z as the trees read it: rescaled like the training rows, float32."""
        return np.ascontiguousarray(scaled(Z, self.scale), dtype=np.float32)

    def _scores(self, depths: np.ndarray) -> np.ndarray:
        return scores_of_depths(depths, self.denominator)

    def state(self) -> Dict[str, Any]:
        """The node arrays and scalars (what a saved model holds)."""
        return {**dict(zip(NODE_ARRAYS, self._paths.node_arrays())),
                **{f.name: getattr(self, f.name) for f in fields(self) if f.name not in NODE_ARRAYS}}

    @classmethod
    def from_state(cls, state: Dict[str, Any]) -> "IsolationPrior":
        return cls(**{name: np.asarray(state[name]).item() if np.ndim(state[name]) == 0 else state[name]
                      for name in cls.__dataclass_fields__})

    def __getstate__(self) -> Dict[str, Any]:
        return self.state()

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]


@dataclass
class NeighbourPrior:
    """SSDO's prior as a k-NN distance (``prior="knn"``): the raw score of a point is its distance
    to the k-th nearest training row (scaled units, as the kernel's), and a training row's is its
    distance to the k-th nearest *other* training row: the delta whose harmonic mean is the
    bandwidth eta (SPEC section 4.2), so the training scores cost nothing. Its raw scores need
    the training rows, which the fitted estimator holds (:meth:`raw_scores`)."""

    k: int

    def raw_scores(self, Zs: np.ndarray, points: np.ndarray, threads: int) -> np.ndarray:
        """Distance from each row of ``Zs`` to its k-th nearest row of ``points`` (both scaled)."""
        return _core.nearest_distances(Zs, points, self.k, threads)

    def state(self) -> Dict[str, Any]:
        return {"kind": np.array("knn"), "k": np.array(self.k)}


def prior_from_state(state: Dict[str, Any]) -> "IsolationPrior | NeighbourPrior":
    """The prior a saved detector holds: a :class:`NeighbourPrior` (marked ``kind``) or a forest."""
    if "kind" in state:
        if str(state["kind"]) != "knn":
            raise ValueError(f"unknown prior kind {str(state['kind'])!r}")
        return NeighbourPrior(int(state["k"]))
    return IsolationPrior.from_state(state)


def native_denominator(n_estimators: int, max_samples: int) -> float:
    """Sum over the trees of c(max_samples), the native forest's path-length normaliser."""
    return float(n_estimators * average_path_length(np.array([max_samples]))[0])


def native_forest_input(X: np.ndarray, offsets: np.ndarray, rows: np.ndarray,
                        random_states: Sequence[Any]) -> Optional[Tuple[np.ndarray, np.ndarray, float]]:
    """What the core's forest build over bagging rounds (``rows[offsets[r]:offsets[r + 1]]`` of
    X) takes: ``(X32, seeds, scale)``, X's rows as every round's forest sees them, one seed per
    round (``native_seed`` of ``random_states[r]``) and their common rescaling. None when the
    rounds' float32 rescalings differ (data spanning float32's range): then fit them one at a
    time."""
    peaks = np.maximum.reduceat(np.abs(X).max(axis=1)[rows], offsets[:-1])
    scales = {scale_for_peak(float(peak), np.dtype(np.float32)) for peak in peaks}
    if len(scales) != 1:
        return None
    scale = scales.pop()
    # Only rows of some round are converted: another may not fit in float32 at this scale.
    used = np.zeros(X.shape[0], dtype=bool)
    used[rows] = True
    X32 = np.zeros(X.shape, dtype=np.float32)
    X32[used] = scaled(X[used], scale)
    seeds = np.array([native_seed(state) for state in random_states], dtype=np.uint64)
    return X32, seeds, scale


def native_rounds(built: Sequence[Tuple[Any, np.ndarray]], sizes: np.ndarray, n_features: int,
                  n_estimators: int, scale: float) -> List[Tuple[IsolationPrior, np.ndarray]]:
    """Each round's prior and the raw scores of its rows from the core's (walker, depths) per
    round, rounds of ``sizes`` rows, forests of ``n_estimators`` trees built at the rescaling
    ``scale`` (:func:`native_forest_input`): bit for bit what ``IsolationPrior.fit`` of the
    round's rows with the round's random state, and its ``raw_scores`` of those rows, give."""
    denominators: Dict[int, float] = {}
    out = []
    for (paths, depths), size in zip(built, sizes):
        samples = min(MAX_SAMPLES, int(size))
        if samples not in denominators:
            denominators[samples] = native_denominator(n_estimators, samples)
        prior = IsolationPrior._walked_by(paths, n_features, denominators[samples], scale)
        out.append((prior, prior._scores(depths)))
    return out


def raw_scores_of_rounds(priors: Sequence[IsolationPrior], Z: np.ndarray,
                         threads: int) -> np.ndarray:
    """(priors, rows of Z): each ``prior.raw_scores(Z, threads)``, bit for bit; the forests are
    walked in one core call and scored as one array when they share a rescaling (as a bagged
    fit's almost always do)."""
    if len({prior.scale for prior in priors}) != 1:
        return np.array([prior.raw_scores(Z, threads) for prior in priors])
    depths = _core.forests_depths([prior._paths for prior in priors], priors[0]._walkable(Z), threads)
    return scores_of_depths(depths, np.array([prior.denominator for prior in priors]))


def scores_of_depths(depths: np.ndarray, denominator: Any) -> np.ndarray:
    """scikit-learn's s = 2^(-depth / denominator) of summed path lengths (rows on the last
    axis) against the forest's normaliser (a float, or one per leading row); a forest of a
    single training sample (denominator 0) scores 2^-1, as scikit-learn's does."""
    den = np.asarray(denominator, dtype=np.float64)[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = 2 ** (-(depths / den))
    out: np.ndarray = np.where(den == 0, 0.5, scores)
    return out
