"""Random streams: every draw comes from a Generator derived from the scenario seed."""

from __future__ import annotations

import numpy as np

STREAMS = ("model", "firms", "households", "perturbation")


def make_rng(seed: int) -> np.random.Generator:
    """A PCG64 Generator from an integer seed (rejects other types)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.default_rng(np.random.SeedSequence(int(seed)))


def spawn_streams(seed: int, names=STREAMS) -> dict[str, np.random.Generator]:
    """Independent named child streams of ``seed`` (via ``SeedSequence.spawn``).

    The same seed and names give the same streams, whatever else the run draws.
    """
    make_rng(seed)  # validates
    children = np.random.SeedSequence(int(seed)).spawn(len(names))
    return {n: np.random.default_rng(c) for n, c in zip(names, children, strict=True)}
