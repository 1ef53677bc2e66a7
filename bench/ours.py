"""Times our engine per document (protocols in bench/timing.py), and the lint CLI from a cold process.

The entry point timed is ``check_identity_policy`` on the document's JSON text (what the pack and the
offline check call for every policy document), so parsing is included, as it is for the peers.
Both protocols run in a fresh interpreter per corpus (``python -m bench.ours documents``), the import
timed separately; steady state clears the engine's result caches
(``least_privilege.caches.clear_result_caches``) before every timed call.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import timing
from bench.corpora import Doc

ROOT = Path(__file__).resolve().parent.parent


def _runner() -> timing.Runner:
    from least_privilege.analysis import check_identity_policy

    def run(text: str) -> list[dict[str, Any]]:
        return [f.to_dict() for f in check_identity_policy(text)]

    return run


def steady(docs: list[Doc]) -> dict[str, dict[str, Any]]:
    """Steady state in this process: warm-up pass, then each document with result caches cleared."""
    from least_privilege.caches import clear_result_caches

    return timing.steady(_runner(), ((d.id, d.text) for d in docs), reset=clear_result_caches)


def per_document(documents: Path, corpus: str) -> dict[str, Any]:
    """Both protocols on every document of ``corpus`` (from the shared documents file) in a fresh
    interpreter: {"import_ms", "first_visit": {doc id: result}, "steady": {doc id: result}}."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.ours", "documents", str(documents), corpus],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def _documents_main(documents: str, corpus: str) -> int:
    start = time.perf_counter_ns()
    run = _runner()
    import_ms = (time.perf_counter_ns() - start) / 1e6
    from least_privilege.caches import clear_result_caches

    docs = [(d["id"], d["text"]) for d in json.loads(Path(documents).read_text(encoding="utf-8"))
            if d["corpus"] == corpus]
    json.dump({"import_ms": import_ms, **timing.both(run, docs, reset=clear_result_caches)}, sys.stdout)
    return 0


def cold_lint_ms(doc: Doc, runs: int = 5) -> dict[str, Any]:
    """Wall time of ``python -m least_privilege lint --kind identity --json FILE`` on one document, from
    process start to exit (median of ``runs`` fresh processes)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-lint-") as tmp:
        path = Path(tmp) / f"{doc.id}.json"
        path.write_text(doc.text, encoding="utf-8")
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "least_privilege", "lint", "--kind", "identity", "--json", str(path)],
                capture_output=True,
                text=True,
            )
            times.append((time.perf_counter() - start) * 1000)
            if proc.returncode not in (0, 1):
                raise RuntimeError(f"lint exited {proc.returncode}: {proc.stderr[-500:]}")
    return {
        "document": doc.id,
        "bytes": len(doc.text.encode()),
        "median_ms": round(statistics.median(times), 1),
        "runs_ms": [round(t, 1) for t in times],
    }


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "documents":
        sys.exit(_documents_main(sys.argv[2], sys.argv[3]))
    print("usage: python -m bench.ours documents DOCUMENTS.json CORPUS", file=sys.stderr)
    sys.exit(2)
