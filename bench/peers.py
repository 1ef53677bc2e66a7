"""Peer runner: times Parliament (core checks) and Cloudsplaining per document, inside bench/.venv-peers.

Run as a script by the peers' own interpreter (`bench/.venv-peers/bin/python bench/peers.py IN OUT`),
never imported by the project: the peers pull in boto3/policy_sentry and must stay benchmark-only.
It reads the shared documents file, gives each tool the same JSON text (each pays its own parsing),
does one untimed warm-up pass per tool and corpus (the same protocol as our engine), then a timed pass,
and writes per-document milliseconds and findings as JSON. Stdlib plus the two peers only.
"""

from __future__ import annotations

import gc
import json
import logging
import sys
import time
from collections.abc import Callable
from importlib import metadata
from typing import Any

Runner = Callable[[str], list[dict[str, Any]]]


def _parliament() -> Runner:
    from parliament import analyze_policy_string

    def run(text: str) -> list[dict[str, Any]]:
        policy = analyze_policy_string(text)  # core checks only (community auditors off, the default)
        return [{"category": f.issue, "detail": str(f.detail)[:300]} for f in policy.findings]

    return run


def _cloudsplaining() -> Runner:
    from cloudsplaining.command.scan_policy_file import scan_policy

    def run(text: str) -> list[dict[str, Any]]:
        results = scan_policy(json.loads(text)) or {}
        out: list[dict[str, Any]] = []
        for category, body in results.items():
            if not isinstance(body, dict):  # "ServicesAffected" is a plain list of service names
                continue
            for item in body.get("findings", []) or []:
                if isinstance(item, dict):  # PrivilegeEscalation: {"type": method, "actions": [...]}
                    out.append(
                        {"category": category, "method": item.get("type"), "actions": item.get("actions", [])}
                    )
                else:
                    out.append({"category": category, "actions": [item]})
        return out

    return run


SLOW_MS = 1000.0  # a document this slow in the warm-up is not run a second time (its first run is the figure)


def _run_one(run: Runner, text: str) -> tuple[float, list[dict[str, Any]], str | None]:
    start = time.perf_counter_ns()
    try:
        findings, error = run(text), None
    except Exception as exc:  # a peer crashing on a document is itself a result worth recording
        findings, error = [], f"{type(exc).__name__}: {exc}"[:300]
    return (time.perf_counter_ns() - start) / 1e6, findings, error


def _time_corpus(tool: str, run: Runner, docs: list[dict[str, str]]) -> dict[str, dict[str, Any]]:
    """Warm-up pass (fills the tool's caches), then the timed pass; pathological documents run once."""
    warm = {}
    for doc in docs:
        warm[doc["id"]] = _run_one(run, doc["text"])
        if warm[doc["id"]][0] > SLOW_MS:
            print(
                f"peers: {tool} took {warm[doc['id']][0] / 1000:.1f}s on {doc['id']}",
                file=sys.stderr,
                flush=True,
            )
    gc.collect()
    results: dict[str, dict[str, Any]] = {}
    for doc in docs:
        first = warm[doc["id"]]
        ms, findings, error = first if first[0] > SLOW_MS else _run_one(run, doc["text"])
        results[doc["id"]] = {
            "ms": ms,
            "findings": findings,
            "error": error,
            "runs": 1 if first[0] > SLOW_MS else 2,
        }
    return results


def main(argv: list[str]) -> int:
    logging.disable(logging.CRITICAL)  # cloudsplaining logs a warning per NotResource statement
    src, dst = argv[1], argv[2]
    with open(src, encoding="utf-8") as fh:
        docs: list[dict[str, str]] = json.load(fh)
    by_corpus: dict[str, list[dict[str, str]]] = {}
    for doc in docs:
        by_corpus.setdefault(doc["corpus"], []).append(doc)
    out: dict[str, Any] = {"versions": {}, "tools": {}}
    for tool, factory in (("parliament", _parliament), ("cloudsplaining", _cloudsplaining)):
        out["versions"][tool] = metadata.version(tool)
        run = factory()
        out["tools"][tool] = {}
        for corpus, items in by_corpus.items():
            print(f"peers: {tool} on {corpus} ({len(items)} documents)", file=sys.stderr, flush=True)
            out["tools"][tool].update(_time_corpus(tool, run, items))
    with open(dst, "w", encoding="utf-8") as fh:
        json.dump(out, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
