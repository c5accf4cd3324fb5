"""Type stubs of the compiled align stage (dedup/_align.c)."""

import numpy as np
import numpy.typing as npt

def units(entry_term: npt.NDArray[np.uint64], entry_weight: npt.NDArray[np.float64],
          sizes: npt.NDArray[np.int64], mass: npt.NDArray[np.float64],
          unit_term: npt.NDArray[np.uint64], unit_of: npt.NDArray[np.int64]) -> int: ...
