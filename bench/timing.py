"""The two per-document timing protocols, shared by our engine's runner and the peers' (stdlib only).

- **first visit**: each document analysed exactly once, in a process that has analysed nothing before
  (the caller starts a fresh interpreter per tool and corpus). Catalog data loads as the documents
  need it, so the first documents pay for it, as they do for a user.
- **steady state**: after that first pass over the corpus (catalog caches warm), each document timed
  once more. Before each timed call ``reset`` runs *outside* the timed region; for our engine it
  clears every cache that holds document-derived results, so no timed call is a cache hit. The peers
  keep no such caches (only catalog look-ups such as Parliament's pattern expansion), so theirs is a
  no-op.

``both`` runs the two in one fresh process: the first pass is the first visit, and it is also the
steady state's warm-up. A document slower than ``slow_ms`` in the first pass is not run a second time:
its first time is its steady figure too (only the peers reach that, on the worst cases, where a second
run would add minutes).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable
from typing import Any

Runner = Callable[[str], list[dict[str, Any]]]
SLOW_MS = 1000.0


def run_once(run: Runner, text: str) -> tuple[float, list[dict[str, Any]], str | None]:
    """(milliseconds, findings, error) of one call; an exception is recorded, not raised."""
    start = time.perf_counter_ns()
    try:
        findings, error = run(text), None
    except Exception as exc:  # a tool crashing on a document is itself a result worth recording
        findings, error = [], f"{type(exc).__name__}: {exc}"[:300]
    return (time.perf_counter_ns() - start) / 1e6, findings, error


def _record(ms: float, findings: list[dict[str, Any]], error: str | None, runs: int) -> dict[str, Any]:
    return {"ms": ms, "findings": findings, "error": error, "runs": runs}


def first_visit(run: Runner, docs: Iterable[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """doc id -> result of the one and only call on that document, in corpus order."""
    return {doc_id: _record(*run_once(run, text), runs=1) for doc_id, text in docs}


def steady(
    run: Runner,
    docs: Iterable[tuple[str, str]],
    reset: Callable[[], object] = lambda: None,
    slow_ms: float = SLOW_MS,
    on_slow: Callable[[str, float], None] = lambda doc_id, ms: None,
) -> dict[str, dict[str, Any]]:
    """doc id -> result of the timed call after a warm-up pass; ``reset`` runs before every timed call,
    outside the timed region."""
    return both(run, docs, reset, slow_ms, on_slow)["steady"]


def both(
    run: Runner,
    docs: Iterable[tuple[str, str]],
    reset: Callable[[], object] = lambda: None,
    slow_ms: float = SLOW_MS,
    on_slow: Callable[[str, float], None] = lambda doc_id, ms: None,
) -> dict[str, dict[str, dict[str, Any]]]:
    """{"first_visit": ..., "steady": ...}: the first pass over ``docs`` (call this in a fresh process
    for it to be a first visit), then the steady-state pass."""
    items = list(docs)
    first = first_visit(run, items)
    for doc_id, result in first.items():
        if result["ms"] > slow_ms:
            on_slow(doc_id, result["ms"])
    gc.collect()
    again: dict[str, dict[str, Any]] = {}
    for doc_id, text in items:
        if first[doc_id]["ms"] > slow_ms:
            again[doc_id] = first[doc_id]
            continue
        reset()
        again[doc_id] = _record(*run_once(run, text), runs=2)
    return {"first_visit": first, "steady": again}
