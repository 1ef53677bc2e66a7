"""Peer runner: times Parliament (core checks) or Cloudsplaining per document, inside bench/.venv-peers.

Run as a script by the peers' own interpreter, never imported by the project (the peers pull in
boto3/policy_sentry and must stay benchmark-only). Stdlib, the two peers and bench/timing.py only.

    peers.py documents FILE TOOL CORPUS both  per-document times under both protocols (first visit, then
                                              steady state, in one fresh process), JSON on stdout
    peers.py files TOOL FILE...               end to end: read and analyse every file, print the
                                              findings as JSON (what the lint CLI does for ours)

Each tool is given the same JSON text as our engine and pays its own parsing.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import timing

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


TOOLS: dict[str, Callable[[], Runner]] = {"parliament": _parliament, "cloudsplaining": _cloudsplaining}


def _warn_slow(doc_id: str, ms: float) -> None:
    print(f"peers: {ms / 1000:.1f}s on {doc_id}", file=sys.stderr, flush=True)


def documents(src: str, tool: str, corpus: str) -> int:
    logging.disable(logging.CRITICAL)  # cloudsplaining logs a warning per NotResource statement
    with open(src, encoding="utf-8") as fh:
        docs = [(d["id"], d["text"]) for d in json.load(fh) if d["corpus"] == corpus]
    results = timing.both(TOOLS[tool](), docs, on_slow=_warn_slow)
    json.dump({"version": metadata.version(tool), **results}, sys.stdout)
    return 0


def files(tool: str, paths: list[str]) -> int:
    logging.disable(logging.CRITICAL)
    run = TOOLS[tool]()
    out = []
    for path in paths:
        text = Path(path).read_text(encoding="utf-8")
        try:
            out.append({"path": path, "findings": run(text)})
        except Exception as exc:  # Parliament raises on a couple of managed policies
            out.append({"path": path, "error": f"{type(exc).__name__}: {exc}"[:300]})
    # The same layout and encoder as `least_privilege lint --json`: one file per line.
    sys.stdout.write('{"files": [\n' + ",\n".join(json.dumps(entry) for entry in out) + "\n]}\n")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 6 and argv[1] == "documents" and argv[5] == "both" and argv[3] in TOOLS:
        return documents(argv[2], argv[3], argv[4])
    if len(argv) >= 4 and argv[1] == "files" and argv[2] in TOOLS:
        return files(argv[2], argv[3:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
