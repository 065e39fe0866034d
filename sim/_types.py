"""Dtypes and sentinels shared by every layer (no logic)."""

import numpy as np

FLOAT = np.float64
INDEX = np.int64
NO_PLACE = -1

__all__ = ["FLOAT", "INDEX", "NO_PLACE"]
