"""What every `python -m pipeline` command shares at the terminal: tables that fit it, output paths checked
before any work, and signals that end a run cleanly.

* Tables are as wide as their content when the output is not a terminal (files, pipes, CI logs, unless
  `COLUMNS` is set) or with `--wide`; on a terminal the widest columns are wrapped so each line fits.
* An output path (`--sarif`, `--summary`, ...) must be in a directory that exists: a typo in the
  directory is an error up front, never a tree of directories created silently.
* SIGTERM and SIGHUP (a cancelled CI job, a closed terminal) raise `Interrupted` in the main thread, so
  every `with`/`finally` block (the moto server, the pack processes, temporary files) cleans up as it
  does on Ctrl-C; the dispatcher turns both into one line on stderr and exit code 128 + signal number.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

GAP = "  "
MIN_COLUMN = 10
"""A wrapped column keeps at least this many characters (or its natural width, when narrower)."""

_wide = False


def set_wide(wide: bool) -> None:
    """`--wide`: print every table line in full, whatever the terminal width."""
    global _wide
    _wide = wide


def terminal_width() -> int | None:
    """The width tables must fit, or None for no limit (`--wide`, or output that is not a terminal)."""
    if _wide:
        return None
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return None


def column_widths(natural: Sequence[int], longest_words: Sequence[int], available: int) -> list[int]:
    """Widths that fit `available`: the widest columns shrink first, and no column is cut below its
    longest word while that is possible (else below `MIN_COLUMN`); narrow columns keep their width."""
    if sum(natural) <= available:
        return list(natural)
    floors = [min(n, max(MIN_COLUMN, w)) for n, w in zip(natural, longest_words, strict=True)]
    if sum(floors) > available:
        floors = [min(n, MIN_COLUMN) for n in natural]
    if sum(floors) >= available:
        return floors
    low, high = 0, max(natural)
    while low < high:  # the largest cap c with sum(max(floor, min(natural, c))) <= available
        cap = (low + high + 1) // 2
        if sum(max(f, min(n, cap)) for n, f in zip(natural, floors, strict=True)) <= available:
            low = cap
        else:
            high = cap - 1
    widths = [max(f, min(n, low)) for n, f in zip(natural, floors, strict=True)]
    spare = available - sum(widths)
    for i in sorted(range(len(widths)), key=lambda i: natural[i] - widths[i], reverse=True):
        grow = min(spare, natural[i] - widths[i])
        widths[i] += grow
        spare -= grow
    return widths


def _wrap(cell: str, width: int) -> list[str]:
    lines = textwrap.wrap(cell, width=width, break_long_words=True, break_on_hyphens=False)
    return lines or [""]


def table(
    rows: Sequence[Sequence[object]], *, indent: str = "", rule: bool = False, width: int | None = None
) -> list[str]:
    """Aligned columns; the first row is the header (`rule` underlines it). Cells wrap to fit `width`
    (default: `terminal_width()`); a wrapped row continues on the next lines in the same columns."""
    if not rows:
        return []
    text = [[str(cell) for cell in row] for row in rows]
    count = max(len(row) for row in text)
    text = [row + [""] * (count - len(row)) for row in text]
    natural = [max(len(row[i]) for row in text) for i in range(count)]
    limit = terminal_width() if width is None else width
    room = None if limit is None else limit - len(indent) - len(GAP) * (count - 1)
    longest_words = [max((len(w) for row in text for w in row[i].split()), default=0) for i in range(count)]
    widths = natural if room is None else column_widths(natural, longest_words, room)
    out: list[str] = []
    for n, row in enumerate(text):
        cells = [_wrap(cell, w) if len(cell) > w else [cell] for cell, w in zip(row, widths, strict=True)]
        for k in range(max(len(c) for c in cells)):
            parts = [(c[k] if k < len(c) else "").ljust(w) for c, w in zip(cells, widths, strict=True)]
            out.append((indent + GAP.join(parts)).rstrip())
        if n == 0 and rule:
            out.append(indent + GAP.join("-" * w for w in widths))
    return out


def output_file(value: str) -> Path:
    """argparse type for a file the command writes: its directory must already exist."""
    path = Path(value).expanduser()
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is a directory; give a file name")
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"{value}: directory {parent} does not exist (create it first)")
    return path


def output_file_or_stdout(value: str) -> Path:
    """`output_file`, or `-` for standard output."""
    return Path(value) if value == "-" else output_file(value)


class Interrupted(BaseException):
    """A signal asked the run to stop; `exit_code` is 128 + the signal number, as a shell reports it.

    A BaseException, like KeyboardInterrupt, so that no `except Exception` on the way up swallows it."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(signal.Signals(signum).name)


def _raise_interrupted(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signum)


@contextmanager
def signals_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise `Interrupted` (Ctrl-C raises KeyboardInterrupt)."""
    handled = [signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])]
    previous = {s: signal.signal(s, _raise_interrupted) for s in handled}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
