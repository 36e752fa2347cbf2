"""The paper's data-valuation baselines (section 5.1), adapted to auxiliary anomalies.

Adaptation (as the paper's): a candidate z gets label 1 (anomaly) and joins the training set;
the training set is also the validation set (m << n leaves nothing to split off); the model is
SSDO (k = 10) with the Isolation Forest prior, and a model's utility is the F1 score of
``P(y=1|x) > 0.5`` on the training set. Every function returns one value per candidate,
higher = better auxiliary anomaly.

Two defects of the authors' code are not copied: their KNNShap compares labels reduced over
the wrong axis (every candidate gets the same value), and their LAVA indexes its label-cost
matrix with -1/+1 labels (-1 wraps around to the anomaly row). DataBanzhaf, AME and INF are
left out; docs/valuation.md gives their measured cost.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.metrics import f1_score
from sklearn.utils import check_random_state

from ..ssdo import SSDO
from .sinkhorn import (annealed_potentials, annealed_self_potential, geomloss_schedule, max_diameter,
                       sinkhorn, symmetric_potential)

#: SSDO's neighbour rank for the bandwidth, and KNNShap's K.
K_NEIGHBOURS = 10
#: Models of the sampling methods (DataOOB).
N_MODELS = 50
#: Entropic regularisation of LAVA's transport problems (the authors' ``entreg``).
LAVA_EPS = 0.1
#: How LAVA solves its transport problems: to convergence, or GeomLoss's fixed schedule.
LAVA_SOLVERS = ("converged", "geomloss")
#: Candidates per block of KNNShap, bounding memory to O(block x n).
BLOCK = 2048


def _check_inputs(X_train: Any, y_train: Any, X_aux: Any) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float arrays and 0/1 labels (1 = anomaly; -1/+1 accepted), or an error naming the argument."""
    arrays = []
    for name, value in (("X_train", X_train), ("X_aux", X_aux)):
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
        if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
            raise ValueError(f"{name} must be a non-empty 2-D array, got shape {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or infinity")
        arrays.append(np.ascontiguousarray(arr, dtype=np.float64))
    X, Z = arrays
    if Z.shape[1] != X.shape[1]:
        raise ValueError(f"X_aux has {Z.shape[1]} features but X_train has {X.shape[1]}")
    labels = np.asarray(y_train)
    if labels.dtype.kind not in "biuf":
        raise TypeError(f"y_train must be numeric, got dtype {labels.dtype}")
    if labels.shape != (X.shape[0],):
        raise ValueError(f"y_train must have one label per row of X_train, got shape {labels.shape}")
    values = set(np.unique(labels).tolist())
    if not (values <= {0, 1} or values <= {-1, 1}):
        raise ValueError(f"y_train must hold labels 0/1 or -1/+1, got {sorted(values)}")
    y = (labels == 1).astype(np.int64)
    if y.all() or not y.any():
        raise ValueError("y_train must contain at least one anomaly and one normal")
    return X, y, Z


def _check_n_jobs(n_jobs: Any) -> None:
    if n_jobs is None:
        return
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, numbers.Integral):
        raise TypeError(f"n_jobs must be an integer or None, got {type(n_jobs).__name__}")
    if n_jobs == 0:
        raise ValueError("n_jobs must be a positive integer, -1 (all CPUs) or None, got 0")


def _seed(random_state: Any) -> int:
    """One integer seed, so that every refit of a method sees the same forest randomness."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def utility(X_fit: np.ndarray, y_fit: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
            seed: int, n_jobs: Any = None) -> float:
    """F1 on (X_val, y_val) of ``P(y=1|x) > 0.5`` from SSDO (k = 10) fitted on (X_fit, y_fit)."""
    model = SSDO(k=K_NEIGHBOURS, random_state=seed, n_jobs=n_jobs).fit(X_fit, y_fit)
    predicted = model.predict_proba(X_val)[:, 1] > 0.5
    return float(f1_score(y_val, predicted, zero_division=0.0))


def loo(X_train: Any, y_train: Any, X_aux: Any, random_state: Any = None, n_jobs: Any = None) -> np.ndarray:
    """Leave-one-out value of each auxiliary candidate: ``U(train + {z}) - U(train)``.

    Reference: R. D. Cook, "Detection of influential observation in linear regression",
    Technometrics 19(1), 1977. Adaptation: z enters with label 1; U is the F1 on the training
    set of SSDO's ``P(y=1|x) > 0.5`` (module docstring). Every fit uses the same seed for the
    Isolation Forest prior, so a value measures z, not a different forest.

    Parameters
    ----------
    X_train : array (n, d)
    y_train : array (n,)
        1 (or +1) = anomaly, 0 (or -1) = normal; both classes present.
    X_aux : array (l, d)
        Candidates.
    random_state : int, RandomState or None
        Seeds the Isolation Forest prior.
    n_jobs : int or None
        Threads of SSDO's core (results do not depend on it).

    Returns
    -------
    ndarray (l,) float64
        Higher = better auxiliary anomaly. Costs l + 1 SSDO fits (no incremental form: the
        forest's subsamples change with n).
    """
    X, y, Z = _check_inputs(X_train, y_train, X_aux)
    _check_n_jobs(n_jobs)
    seed = _seed(random_state)
    base = utility(X, y, X, y, seed, n_jobs)
    y_plus = np.r_[y, 1]
    return np.array([utility(np.vstack([X, z]), y_plus, X, y, seed, n_jobs) - base for z in Z])


def data_oob(X_train: Any, y_train: Any, X_aux: Any, random_state: Any = None, n_jobs: Any = None,
             *, n_models: int = N_MODELS) -> np.ndarray:
    """Data-OOB value of each candidate: the out-of-bag accuracy of its label 1.

    Reference: Y. Kwon and J. Zou, "Data-OOB: Out-of-bag estimate as a simple and efficient
    data value", ICML 2023. Adaptation: ``n_models`` SSDO models are fitted on bootstrap samples
    of the training set, drawn per class so that each keeps m anomalies (SSDO's threshold
    depends on m). A candidate is out of every bag, so its value is the fraction of models
    with ``P(y=1|z) > 0.5``, i.e. the accuracy of its label 1.

    Parameters
    ----------
    X_train, y_train, X_aux, random_state, n_jobs
        As :func:`loo`; ``random_state`` also draws the bootstrap samples.
    n_models : int, default 50

    Returns
    -------
    ndarray (l,) float64 in [0, 1]
        Higher = better auxiliary anomaly. Costs ``n_models`` SSDO fits.
    """
    X, y, Z = _check_inputs(X_train, y_train, X_aux)
    _check_n_jobs(n_jobs)
    if isinstance(n_models, (bool, np.bool_)) or not isinstance(n_models, numbers.Integral):
        raise TypeError(f"n_models must be an integer, got {type(n_models).__name__}")
    if n_models < 1:
        raise ValueError(f"n_models must be at least 1, got {n_models}")
    rng = check_random_state(random_state)
    classes = [np.flatnonzero(y == 0), np.flatnonzero(y == 1)]
    votes = np.zeros(Z.shape[0])
    for _ in range(n_models):
        rows = np.concatenate([rng.choice(c, size=c.size) for c in classes])
        model = SSDO(k=K_NEIGHBOURS, random_state=_seed(rng), n_jobs=n_jobs).fit(X[rows], y[rows])
        votes += model.predict_proba(Z)[:, 1] > 0.5
    out: np.ndarray = votes / n_models
    return out


def knn_shapley(X_train: Any, y_train: Any, X_aux: Any, random_state: Any = None, n_jobs: Any = None,
                *, k: int = K_NEIGHBOURS) -> np.ndarray:
    """Exact KNN-Shapley value of each candidate in the game ``train + {z}``.

    Reference: R. Jia et al., "Efficient task-specific data valuation for nearest neighbor
    algorithms", PVLDB 12(11), 2019 (Theorem 1). Adaptation: the players are the n training
    points and z (label 1); the utility is the K-NN classifier's likelihood of the right label,
    ``U(S) = (1/K) sum_{i <= min(K, |S|)} 1[y_(i) = y_v]``, averaged over the training points v
    as validation points. Jia's recursion runs over the n + 1 players sorted by distance to v;
    since the training points' order does not depend on z, the suffix sums of the recursion are
    computed once per v and z's value at its rank r is read off in O(1):
    ``s_r = (1[y_v = 1] - t_r) c_r + sum_{i = r+1}^{n} (t_{i-1} - t_i) c_i + t_n c_{n+1}``
    with ``t_i = 1[y_(i) = y_v]`` over the sorted training points and ``c_i = min(K, i)/(K i)``
    (``s_{n+1} = 1[y_v = 1] c_{n+1}``). The farthest player's value ``c_N`` is Jia's ``1/N``
    when N >= K and ``1/K`` otherwise (it then always counts). Ties in distance rank training points before z. The
    labels are compared per validation point (the authors' code reduces over the wrong axis).

    Parameters
    ----------
    X_train, y_train, X_aux
        As :func:`loo`.
    random_state : ignored
        Accepted for the uniform signature; the value is deterministic.
    n_jobs : int or None
        Validated; the computation is single-threaded SciPy/NumPy.
    k : int, default 10

    Returns
    -------
    ndarray (l,) float64
        Higher = better auxiliary anomaly. O(n^2 log n + l n log n) time, O(n^2 + BLOCK n) memory.
    """
    X, y, Z = _check_inputs(X_train, y_train, X_aux)
    _check_n_jobs(n_jobs)
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral):
        raise TypeError(f"k must be an integer, got {type(k).__name__}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    n = X.shape[0]
    dist = cdist(X, X, "sqeuclidean")  # row v: validation point v against the training points
    order = np.argsort(dist, axis=1, kind="stable")
    sorted_dist = np.take_along_axis(dist, order, axis=1)
    t = (y[order] == y[:, None]).astype(np.float64)  # t[v, i-1] = t_i
    ranks = np.arange(1, n + 2)
    c = np.minimum(k, ranks) / (k * ranks)  # c[i-1] = c_i, i = 1..n+1
    terms = (t[:, :-1] - t[:, 1:]) * c[1:n]  # terms[v, i-2] = (t_{i-1} - t_i) c_i, i = 2..n
    suffix = np.concatenate([np.cumsum(terms[:, ::-1], axis=1)[:, ::-1], np.zeros((n, 1))], axis=1)
    # s_r for r = 1..n with z's match set to 0 and to 1; index n holds r = n + 1
    tail = t[:, -1:] * c[n]
    s0 = np.concatenate([-t * c[:n] + suffix + tail, np.zeros((n, 1))], axis=1)
    s1 = np.concatenate([(1 - t) * c[:n] + suffix + tail, np.full((n, 1), c[n])], axis=1)
    s = np.where(y[:, None] == 1, s1, s0)
    values = np.empty(Z.shape[0])
    for start in range(0, Z.shape[0], BLOCK):
        d_z = cdist(X, Z[start:start + BLOCK], "sqeuclidean")  # (n, block)
        rank = np.stack([np.searchsorted(sorted_dist[v], d_z[v], side="right") for v in range(n)])
        values[start:start + BLOCK] = np.take_along_axis(s, rank, axis=1).mean(axis=0)
    return values


def self_value(A: np.ndarray, eps: float) -> float:
    """``OT(A, A) / 2 = <a, f_a>`` for the uniform distribution on the rows of A (cost
    ``||x - x'||^2 / 2``): the part of a debiased divergence that depends on A alone."""
    a = np.full(A.shape[0], 1.0 / A.shape[0])
    return float(a @ symmetric_potential(cdist(A, A, "sqeuclidean") / 2, a, eps))


def divergence(A: np.ndarray, B: np.ndarray, eps: float, self_a: Optional[float] = None,
               self_b: Optional[float] = None) -> float:
    """Debiased Sinkhorn divergence ``OT(A, B) - (OT(A, A) + OT(B, B)) / 2`` between the uniform
    distributions on the rows of A and B (cost ``||x - x'||^2 / 2``; OT is the dual value
    <a, f> + <b, g>): OTDD's label-to-label cost between two classes. ``self_a``/``self_b``:
    :func:`self_value` of A/B when already known (LAVA reuses them across candidates)."""
    if np.array_equal(A, B):  # zero by definition; Sinkhorn converges slowly on this plan
        return 0.0
    a, b = np.full(A.shape[0], 1.0 / A.shape[0]), np.full(B.shape[0], 1.0 / B.shape[0])
    f, g = sinkhorn(cdist(A, B, "sqeuclidean") / 2, a, b, eps)
    self_a = self_value(A, eps) if self_a is None else self_a
    self_b = self_value(B, eps) if self_b is None else self_b
    return float(a @ f + b @ g) - self_a - self_b


class _AnnealedDivergences:
    """Debiased Sinkhorn divergences as GeomLoss computes them (``SamplesLoss("sinkhorn", p=2,
    blur=sqrt(eps), debias=True)``, tensorized): the eps schedule starts from the squared
    diameter of each pair of sets, and a named set's self potential is kept per diameter (its
    costs once), so the classes that do not change between candidates are solved once per
    distinct diameter."""

    def __init__(self, eps: float) -> None:
        self.eps = eps
        self._self: Dict[Tuple[str, float], np.ndarray] = {}
        self._cost: Dict[str, np.ndarray] = {}

    def __call__(self, A: np.ndarray, B: np.ndarray, a_name: Optional[str] = None,
                 b_name: Optional[str] = None) -> float:
        a, b = np.full(A.shape[0], 1.0 / A.shape[0]), np.full(B.shape[0], 1.0 / B.shape[0])
        diameter = max_diameter(A, B)
        schedule = geomloss_schedule(diameter, self.eps)
        f, g = annealed_potentials(cdist(A, B, "sqeuclidean") / 2, a, b, schedule)
        return float(a @ (f - self._potential(A, a, a_name, diameter, schedule)) +
                     b @ (g - self._potential(B, b, b_name, diameter, schedule)))

    def _potential(self, A: np.ndarray, a: np.ndarray, name: Optional[str], diameter: float,
                   schedule: List[float]) -> np.ndarray:
        if name is None:
            return annealed_self_potential(cdist(A, A, "sqeuclidean") / 2, a, schedule)
        if (name, diameter) not in self._self:
            if name not in self._cost:
                self._cost[name] = cdist(A, A, "sqeuclidean") / 2
            self._self[name, diameter] = annealed_self_potential(self._cost[name], a, schedule)
        return self._self[name, diameter]


def lava(X_train: Any, y_train: Any, X_aux: Any, random_state: Any = None, n_jobs: Any = None,
         *, eps: float = LAVA_EPS, solver: str = "geomloss") -> np.ndarray:
    """LAVA value of each candidate: minus its calibrated gradient of the OT dataset distance.

    Reference: H. A. Just et al., "LAVA: Data valuation without pre-specified learning
    algorithms", ICLR 2023; the distance is OTDD (D. Alvarez-Melis and N. Fusi, NeurIPS 2020)
    with cost ``||x - x'||^2 / 2 + W[y, y']``, W the label-to-label Sinkhorn divergence, and
    entropic regularisation ``eps`` (the authors' 0.1).

    Adaptation: per candidate, the source is ``train + {z}`` with z labelled 1 (W recomputed
    with z) and the target is the training set; the value is ``-(f_z - sum_{i != z} f_i / n)``
    from the source potential f. Labels index W as 0/1 (the authors' -1 wraps around). One
    solve on the training set plus a c-transform per candidate was tried and rejected: its
    Spearman correlation with this was 0.19-0.52 on small data (docs/valuation.md).

    Parameters
    ----------
    X_train, y_train, X_aux
        As :func:`loo`.
    random_state : ignored
        Accepted for the uniform signature; the value is deterministic.
    n_jobs : int or None
        Validated; the computation runs on one thread (SciPy, NumPy and the core's
        log-sum-exp).
    eps : float, default 0.1
    solver : {"geomloss", "converged"}, default "geomloss"
        ``"geomloss"`` computes what the authors' code does (OTDD on GeomLoss 0.2,
        ``SamplesLoss(p=2, blur=sqrt(eps))``, within 1e-13 relative of GeomLoss's own values in
        docs/valuation.md): eps-scaling from the squared diameter of the two sets (for the main
        problem, of the features with the labels appended, 0/1 for the source and 1/2 for the
        target, as OTDD encodes them) down to eps, one symmetrised update per eps and a last
        c-transform, about a dozen sweeps per problem whatever the size: not a converged
        solution. ``"converged"`` solves every transport problem to a marginal error of 1e-6 in
        the log domain with annealing (:func:`.sinkhorn.sinkhorn`): hundreds to thousands of
        sweeps, about 10^3 times the cost, and it may stop at its sweep cap with a
        ``ConvergenceWarning`` on large or badly scaled sets.

    Returns
    -------
    ndarray (l,) float64
        Higher = better auxiliary anomaly. Per candidate an (n + 1) x n log-domain Sinkhorn
        solve and the label costs: O(l n^2) time per sweep, O(n^2) memory.
    """
    X, y, Z = _check_inputs(X_train, y_train, X_aux)
    _check_n_jobs(n_jobs)
    if not isinstance(solver, str):
        raise TypeError(f"solver must be a string, got {type(solver).__name__}")
    if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, numbers.Real):
        raise TypeError(f"eps must be a real number, got {type(eps).__name__}")
    if not 0 < eps < np.inf:
        raise ValueError(f"eps must be positive and finite, got {eps}")
    if solver not in LAVA_SOLVERS:
        raise ValueError(f"solver must be one of {LAVA_SOLVERS}, got {solver!r}")
    n = X.shape[0]
    to_train = cdist(X, X, "sqeuclidean") / 2
    normals, anomalies = X[y == 0], X[y == 1]
    y_src = np.r_[y, 1]
    a, b = np.full(n + 1, 1.0 / (n + 1)), np.full(n, 1.0 / n)
    # z joins the anomalies, so the normals' row of W and what depends on one class alone are
    # computed once per experiment, not per candidate.
    label_costs: Callable[[np.ndarray], List[float]]
    potential: Callable[[np.ndarray, np.ndarray], np.ndarray]
    if solver == "geomloss":
        divergences = _AnnealedDivergences(float(eps))
        # Identical sets have divergence 0 in GeomLoss's loop too (its four potentials agree).
        normal_row = [0.0, divergences(normals, anomalies, "normals", "anomalies")]
        source_rows, target = np.hstack([X, y[:, None] + 0.0]), np.hstack([X, y[:, None] + 1.0])

        def label_costs(source: np.ndarray) -> List[float]:
            return [divergences(source, normals, None, "normals"),
                    divergences(source, anomalies, None, "anomalies")]

        def potential(cost: np.ndarray, z: np.ndarray) -> np.ndarray:
            diameter = max_diameter(np.vstack([source_rows, np.r_[z, 1.0]]), target)
            return annealed_potentials(cost, a, b, geomloss_schedule(diameter, float(eps)))[0]
    else:
        self_normals, self_anomalies = self_value(normals, eps), self_value(anomalies, eps)
        normal_row = [0.0, divergence(normals, anomalies, eps, self_normals, self_anomalies)]

        def label_costs(source: np.ndarray) -> List[float]:
            self_source = self_value(source, eps)
            return [divergence(source, normals, eps, self_source, self_normals),
                    divergence(source, anomalies, eps, self_source, self_anomalies)]

        def potential(cost: np.ndarray, z: np.ndarray) -> np.ndarray:
            return sinkhorn(cost, a, b, float(eps))[0]
    values = np.empty(Z.shape[0])
    for j, z in enumerate(Z):
        W = np.array([normal_row, label_costs(np.vstack([anomalies, z]))])
        cost = np.vstack([to_train, cdist(z[None, :], X, "sqeuclidean") / 2]) + W[y_src][:, y]
        f = potential(cost, z)
        values[j] = -(f[-1] - f[:-1].sum() / n)
    return values


#: Method name -> valuation function, as ``eap-anomaly evaluate --methods`` names them.
VALUATION: Dict[str, Callable[..., np.ndarray]] = {
    "LAVA": lava, "KNNShap": knn_shapley, "DataOOB": data_oob, "LOO": loo,
}
