"""Progress bars for long operations: shown on a terminal, silent in CI, pipes and ``--quiet``.

One switch for the whole package, so that ``sim run``, ``sim compare``, ``sim report`` and
``sim sweep`` behave alike. A bar is drawn (with tqdm, on stderr) only when all of these hold:

- the caller did not ask for quiet (``--quiet``, or ``quiet=True`` from Python);
- stderr is attached to a terminal;
- the environment variable ``CI`` is unset or empty and ``SIM_NO_PROGRESS`` is unset or empty.
"""

from __future__ import annotations

import os
import shutil
import sys


def progress_enabled(quiet: bool = False, stream=None) -> bool:
    """Whether a progress bar would be shown (see module docstring)."""
    if quiet or os.environ.get("CI") or os.environ.get("SIM_NO_PROGRESS"):
        return False
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _Silent:
    """The no-op stand-in for a tqdm bar."""

    n = 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_description(self, desc: str | None = None) -> None:
        pass

    def set_postfix_str(self, s: str = "") -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


def progress(total: int | None, desc: str, *, quiet: bool = False, unit: str = "it"):
    """A context-managed progress bar (tqdm on a terminal; a silent stand-in otherwise).

    Parameters
    ----------
    total : int or None
        Number of steps (None: unknown).
    desc : str
        Label shown before the bar.
    quiet : bool
        Force silence.
    unit : str
        Unit name shown by tqdm (e.g. ``"year"``, ``"run"``).

    Returns
    -------
    object
        Supports ``update(n)``, ``set_description``, ``set_postfix_str``, ``close`` and use as a
        context manager.
    """
    if not progress_enabled(quiet):
        return _Silent()
    from tqdm.auto import tqdm

    # a terminal that reports a 0 x 0 size (e.g. a fresh pseudo-terminal) gets 80 x 24: tqdm
    # hides every bar on a terminal with no rows
    size = shutil.get_terminal_size()
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False,
                ncols=size.columns or 80, nrows=size.lines or 24)
