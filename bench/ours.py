"""Times our engine per document, in-process, with the same protocol as the peer runner.

Same JSON text as the peers, one untimed warm-up pass per corpus (so every tool's caches are equally
warm), then one timed pass. The engine entry point is `check_identity_policy`, which is what the pack
and the offline check call for every policy document.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from bench.corpora import Doc


def time_engine(corpora: dict[str, list[Doc]]) -> dict[str, dict[str, Any]]:
    """doc id -> {"ms", "findings": [finding dicts], "error"} for every document of every corpus."""
    from least_privilege.analysis import check_identity_policy

    results: dict[str, dict[str, Any]] = {}
    for docs in corpora.values():
        for doc in docs:
            check_identity_policy(doc.text)
        gc.collect()
        for doc in docs:
            start = time.perf_counter_ns()
            try:
                findings, error = check_identity_policy(doc.text), None
            except Exception as exc:  # must never happen; the fuzz suite asserts it, the bench records it
                findings, error = [], f"{type(exc).__name__}: {exc}"
            elapsed_ms = (time.perf_counter_ns() - start) / 1e6
            results[doc.id] = {"ms": elapsed_ms, "findings": [f.to_dict() for f in findings], "error": error}
    return results


def cold_first_document_ms(doc: Doc) -> float:
    """Import plus the first document, in a fresh interpreter: what one preview of one policy pays."""
    import subprocess
    import sys

    code = (
        "import time,sys;t=time.perf_counter();from least_privilege.analysis import check_identity_policy;"
        "check_identity_policy(sys.stdin.read());print((time.perf_counter()-t)*1000)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=doc.text, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])
