"""End to end: what a user waits for to check a folder of policies, process start to exit.

Every AWS managed policy is written once to its own file in a temporary directory. Then, in rounds,
each tool runs as a whole process over all the files: ours is the real command line
``python -m least_privilege lint --kind identity --json FILE...``; the peers are their libraries over
the same files (``bench/peers.py files``), each printing its findings as JSON. Tools alternate within a
round (so a burst of machine load hits all of them), and each tool's figure is the median of the rounds.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.corpora import Doc

ROOT = Path(__file__).resolve().parent.parent
PEERS_SCRIPT = ROOT / "bench" / "peers.py"


def commands(files: list[str], peers_python: Path | None) -> dict[str, list[str]]:
    """tool -> the command line that checks ``files`` (the peers only when their venv exists)."""
    out = {"ours": [sys.executable, "-m", "least_privilege", "lint", "--kind", "identity", "--json", *files]}
    if peers_python is not None:
        for tool in ("parliament", "cloudsplaining"):
            out[tool] = [str(peers_python), str(PEERS_SCRIPT), "files", tool, *files]
    return out


def _files_reported(tool: str, stdout: str) -> int:
    data = json.loads(stdout)
    return len(data["files"])


def run_rounds(docs: list[Doc], peers_python: Path | None, rounds: int = 3) -> dict[str, Any]:
    """{"seconds": {tool: {"median", "runs"}}, "files", "ratios": {peer: their median / ours}}."""
    runs: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        files = []
        for doc in docs:
            path = Path(tmp) / f"{doc.id}.json"
            path.write_text(doc.text, encoding="utf-8")
            files.append(str(path))
        cmds = commands(files, peers_python)
        for _ in range(rounds):
            for tool, cmd in cmds.items():
                start = time.perf_counter()
                proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
                elapsed = time.perf_counter() - start
                if proc.returncode not in (0, 1):  # lint exits 1 when findings reach --fail-on
                    raise RuntimeError(f"{tool} exited {proc.returncode}: {proc.stderr[-500:]}")
                reported = _files_reported(tool, proc.stdout)
                if reported != len(files):
                    raise RuntimeError(f"{tool} reported {reported} of {len(files)} files")
                runs.setdefault(tool, []).append(elapsed)
    medians = {tool: statistics.median(t) for tool, t in runs.items()}
    seconds = {tool: {"median": round(medians[tool], 3), "runs": [round(x, 3) for x in t]}
               for tool, t in runs.items()}
    ratios = {tool: round(m / medians["ours"], 1) if medians["ours"] else None
              for tool, m in medians.items() if tool != "ours"}
    return {"files": len(docs), "rounds": rounds, "seconds": seconds, "ratios": ratios}
