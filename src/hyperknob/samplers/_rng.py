"""Per-trial random generators derived from (seed, trial number).

Deriving the stream from the trial number, not from how many draws a process made, keeps the
suggestions the same with one worker or many, and after a restart.
"""

from __future__ import annotations

import numpy as np


def fresh_seed() -> int:
    """Return a random 63-bit seed for a sampler created with ``seed=None``."""
    return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))


def check_seed(seed: int | None) -> int:
    """Validate a user seed and return it, or a fresh one for None."""
    if seed is None:
        return fresh_seed()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int or None, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got seed={seed}")
    return int(seed)


class TrialRngs:
    """Hand out one Generator per trial, built on first use and kept for the trial's draws."""

    def __init__(self, seed: int, stream: int = 0) -> None:
        self.seed = seed
        self._stream = stream
        self._number = -1
        self._rng = np.random.default_rng(0)

    def for_trial(self, number: int) -> np.random.Generator:
        """Return the generator of trial ``number``."""
        if number != self._number:
            self._rng = np.random.Generator(
                np.random.PCG64(np.random.SeedSequence((self.seed, self._stream, number)))
            )
            self._number = number
        return self._rng
