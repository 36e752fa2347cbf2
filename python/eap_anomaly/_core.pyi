"""Type stub of the compiled core. Inputs must be C-contiguous and of matching dtype; the
Python layer (eap_anomaly.geometry, ...) validates them first."""

from typing import overload

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

@overload
def knn_radii(C: F32, k: int, n_threads: int) -> F64: ...
@overload
def knn_radii(C: F64, k: int, n_threads: int) -> F64: ...
@overload
def rarity_scores(Z: F32, C: F32, radii: F64, tau: float, n_threads: int) -> F64: ...
@overload
def rarity_scores(Z: F64, C: F64, radii: F64, tau: float, n_threads: int) -> F64: ...
@overload
def cover_ranks(C: F32, A: F32, anomaly_index: I64, n_threads: int) -> I64: ...
@overload
def cover_ranks(C: F64, A: F64, anomaly_index: I64, n_threads: int) -> I64: ...
def has_openmp() -> bool: ...
