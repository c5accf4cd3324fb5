"""Type stubs of the compiled hashing core (dedup/_core.c)."""

from typing import Any

import numpy as np
import numpy.typing as npt

def shingles(texts: list[str], settled: npt.NDArray[np.uint8], table: npt.NDArray[np.uint64],
             weights: npt.NDArray[np.uint64], base: int, token_key: int, ngram_key: int,
             values: npt.NDArray[np.uint64], offsets: npt.NDArray[np.intp],
             flags: npt.NDArray[np.uint8]) -> int: ...
def oph(values: npt.NDArray[np.uint64], offsets: npt.NDArray[Any], key: int,
        sig: npt.NDArray[np.uint64]) -> None: ...
def kperm(values: npt.NDArray[np.uint64], offsets: npt.NDArray[Any], key: int,
          a: npt.NDArray[np.uint64], b: npt.NDArray[np.uint64],
          sig: npt.NDArray[np.uint64]) -> None: ...
def densify(sig: npt.NDArray[np.uint64], probes: npt.NDArray[np.intp], key: int) -> None: ...
