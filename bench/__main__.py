"""`python -m bench` (`make bench`): the whole benchmark in one run, on the same documents for every tool.

Sections run one after another (never in parallel: this is a 2-core machine and the timings would
interfere), each guarded so one failing section is reported and the others still run:
 1. corpora -> bench/out/documents.json (managed, generated from a fixed seed, worst cases);
 2. the peers (Parliament core, Cloudsplaining) in their own venv, as a subprocess on that file;
 3. our engine in-process on the same file; per-corpus mean/median/p99/max and speed-ups;
 4. the findings comparison on the managed policies (bench/out/findings-diff.md);
 5. the pack: cold start (spawn to port line, median of several), RSS after Analyze of every managed policy;
 6. `python -m pipeline check --stack all` wall time; 7. synthetic stack scaling 10 -> 100 -> 1,000 roles;
 8. the long hypothesis profile; 9. the plot; and last, one JSON line with the headline figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import compare, corpora, ours, pack, robustness, scaling, stats

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"
PEERS_VENV = BENCH / ".venv-peers"
PEERS_PY = PEERS_VENV / "bin" / "python"
REQUIREMENTS = BENCH / "requirements.txt"
TOOLS = ("ours", "parliament", "cloudsplaining")


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = next(
        (
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "load_avg_start": os.getloadavg()[0],
    }


# --------------------------------------------------------------------------- peers venv


def ensure_peers_venv() -> Path:
    """Create/refresh bench/.venv-peers from bench/requirements.txt (stamped by the file's hash)."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    stamp = PEERS_VENV / ".installed"
    if PEERS_PY.exists() and stamp.exists() and stamp.read_text() == digest:
        return PEERS_PY
    log("installing the peers into bench/.venv-peers (benchmark-only; takes a minute)")
    if not PEERS_PY.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
    subprocess.run(
        [
            str(PEERS_PY),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            str(REQUIREMENTS),
        ],
        check=True,
    )
    stamp.write_text(digest)
    return PEERS_PY


def run_peers(documents: Path) -> dict[str, Any]:
    python = ensure_peers_venv()
    dest = OUT / "peers.json"
    subprocess.run([str(python), str(BENCH / "peers.py"), str(documents), str(dest)], check=True)
    return json.loads(dest.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- sections


def timing_tables(
    all_docs: dict[str, list[corpora.Doc]], results: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Per corpus and tool: summary stats; and the speed-ups (their mean / our mean)."""
    summaries: dict[str, dict[str, Any]] = {}
    for corpus, docs in all_docs.items():
        summaries[corpus] = {}
        for tool in TOOLS:
            per_doc = results.get(tool, {})
            values = [per_doc[d.id]["ms"] for d in docs if d.id in per_doc]
            summaries[corpus][tool] = stats.summarize(values) | {
                "errors": sum(1 for d in docs if per_doc.get(d.id, {}).get("error"))
            }
    speedups = {
        peer: {c: stats.speedup(summaries[c][peer]["mean"], summaries[c]["ours"]["mean"]) for c in all_docs}
        for peer in ("parliament", "cloudsplaining")
    }
    return {"summary": summaries, "speedups": speedups}


def print_tables(tables: dict[str, Any]) -> None:
    rows = []
    for corpus, tools in tables["summary"].items():
        for tool, s in tools.items():
            if s["n"]:
                rows.append(
                    [
                        corpus,
                        tool,
                        s["n"],
                        *(stats.fmt_ms(s[k]) for k in ("mean", "median", "p99", "max")),
                        s["errors"],
                    ]
                )
    print(stats.table(rows, ["corpus", "tool", "docs", "mean ms", "median", "p99", "max", "errors"]))
    print()
    print(
        stats.table(
            [
                [peer, *(f"{v}x" if v else "-" for v in by.values())]
                for peer, by in tables["speedups"].items()
            ],
            ["speed-up (theirs / ours, mean)", *tables["speedups"]["parliament"].keys()],
        )
    )
    print()


def check_three_stacks(runs: int = 3) -> dict[str, Any]:
    """Wall time of the real `python -m pipeline check --stack all` (what `make check` runs after setup)."""
    times, codes = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "pipeline", "check", "--stack", "all"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        times.append(round(time.perf_counter() - t0, 3))
        codes.append(proc.returncode)
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
    return {"median_s": statistics.median(times), "runs_s": times, "exit_codes": codes, "tail": tail}


def pack_figures(managed: list[corpora.Doc], runs: int = 5) -> dict[str, Any]:
    cold = pack.cold_start_seconds(runs)
    rss = pack.managed_policies_rss_mb((d.id, d.text) for d in managed)
    return {
        "cold_start_runs_s": [round(c, 3) for c in cold],
        "cold_start_median_s": round(statistics.median(cold), 3),
        "python": str(pack.pack_python().relative_to(ROOT))
        if pack.pack_python().is_relative_to(ROOT)
        else str(pack.pack_python()),
        **rss,
    }


def plot(payload: dict[str, Any]) -> str:
    data = OUT / "plot-data.json"
    data.write_text(json.dumps(payload), encoding="utf-8")
    python = PEERS_PY if PEERS_PY.exists() else Path(sys.executable)
    proc = subprocess.run(
        [str(python), str(BENCH / "plot.py"), str(data), str(OUT / "bench.png")],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def diff_only() -> int:
    """Re-run only the findings comparison on the saved results of the last full run (no timing)."""
    ours_results = json.loads((OUT / "ours.json").read_text(encoding="utf-8"))
    peer_results = json.loads((OUT / "peers.json").read_text(encoding="utf-8"))["tools"]
    diff = compare.diff(ours_results, peer_results, [d.id for d in corpora.managed_policies()])
    compare.write_markdown(diff, OUT / "findings-diff.md")
    print(json.dumps(compare.summary(diff), indent=1))
    return 0


def guarded(errors: dict[str, str], name: str, fn: Callable[[], Any]) -> Any:
    """Run one section; on failure record the error (and traceback to stderr) and carry on."""
    log(f"{name} ...")
    t0 = time.perf_counter()
    try:
        result = fn()
    except Exception as exc:
        traceback.print_exc()
        errors[name] = f"{type(exc).__name__}: {str(exc)[:300]}"
        log(f"{name} FAILED: {errors[name]}")
        return None
    log(f"{name} done in {time.perf_counter() - t0:.1f}s")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--skip-peers", action="store_true", help="time only our engine")
    parser.add_argument(
        "--fuzz-examples", type=int, default=None, help="examples per property (long profile)"
    )
    parser.add_argument("--sizes", default="10,100,250,1000", help="synthetic stack sizes (roles)")
    parser.add_argument(
        "--diff-only",
        action="store_true",
        help="rewrite findings-diff.md from the last run's bench/out/*.json",
    )
    args = parser.parse_args(argv)
    if args.diff_only:
        return diff_only()

    OUT.mkdir(parents=True, exist_ok=True)
    errors: dict[str, str] = {}
    info = machine()
    all_docs = corpora.all_corpora()
    documents = OUT / "documents.json"
    corpora.write_documents(documents, all_docs)
    log("corpora: " + ", ".join(f"{k} {len(v)}" for k, v in all_docs.items()))

    results: dict[str, dict[str, Any]] = {}
    versions: dict[str, str] = {}
    if not args.skip_peers:
        peers = guarded(errors, "peers", lambda: run_peers(documents)) or {}
        results.update(peers.get("tools", {}))
        versions.update(peers.get("versions", {}))

    results["ours"] = guarded(errors, "ours", lambda: ours.time_engine(all_docs)) or {}
    (OUT / "ours.json").write_text(json.dumps(results["ours"]), encoding="utf-8")
    tables = timing_tables(all_docs, results)
    print_tables(tables)

    managed_ids = [d.id for d in all_docs["managed"]]
    peer_results = {t: results[t] for t in ("parliament", "cloudsplaining") if results.get(t)}
    gaps: dict[str, Any] = {}
    if peer_results and results["ours"]:
        diff = guarded(
            errors, "findings diff", lambda: compare.diff(results["ours"], peer_results, managed_ids)
        )
        if diff:
            compare.write_markdown(diff, OUT / "findings-diff.md")
            gaps = compare.summary(diff)
            print("gap documents (peer reports the category, our covering rules are silent):")
            print(json.dumps(gaps, indent=1))

    pack_info = guarded(errors, "pack", lambda: pack_figures(all_docs["managed"])) or {}
    check_info = guarded(errors, "check three stacks", check_three_stacks) or {}

    sizes = tuple(int(s) for s in args.sizes.split(",") if s)
    scale_info = guarded(errors, "scaling", lambda: scaling.scale(sizes)) or {}

    fuzz = (
        guarded(errors, "fuzz (long profile)", lambda: robustness.run_profile("long", args.fuzz_examples))
        or {}
    )
    if fuzz.get("failures"):
        errors["fuzz"] = json.dumps(fuzz["failures"])[:1000]

    dists = {
        c: {t: [results[t][d.id]["ms"] for d in docs if d.id in results.get(t, {})] for t in TOOLS}
        for c, docs in all_docs.items()
    }
    plot_kind = guarded(
        errors, "plot", lambda: plot({"scaling": scale_info.get("seconds", {}), "distributions": dists})
    )

    worst = tables["summary"]["worst"]["ours"]
    headline = {
        "speedup_vs_parliament": {
            k: tables["speedups"]["parliament"].get(k) for k in ("managed", "generated")
        },
        "speedup_vs_cloudsplaining": {
            k: tables["speedups"]["cloudsplaining"].get(k) for k in ("managed", "generated")
        },
        "worst_case_max_ms": round(worst["max"], 3) if worst["n"] else None,
        "pack_cold_start_s": pack_info.get("cold_start_median_s"),
        "check_three_stacks_s": check_info.get("median_s"),
        "scaling": scale_info.get("seconds", {}),
        "scaling_errors": {n: d["error"] for n, d in scale_info.get("details", {}).items() if "error" in d},
        "fuzz_examples": fuzz.get("examples"),
        "pack_rss_mb": pack_info.get("rss_after_mb"),
    }
    info["load_avg_end"] = os.getloadavg()[0]
    full = {
        "headline": headline,
        "machine": info,
        "versions": versions,
        "timings": tables,
        "pack": pack_info,
        "check": check_info,
        "scaling": scale_info,
        "fuzz": fuzz,
        "findings_gaps": gaps,
        "plot": plot_kind,
        "errors": errors,
    }
    (OUT / "results.json").write_text(json.dumps(full, indent=1, default=str), encoding="utf-8")
    print(
        f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, Python {info['python']}; "
        f"peers: {versions}"
    )
    print(f"pack: {pack_info}")
    print(f"check --stack all: {check_info}")
    print(f"scaling: {scale_info}")
    print(f"fuzz: {fuzz}")
    print(f"plot: {OUT / 'bench.png'} ({plot_kind}); details: {OUT / 'results.json'}")
    if errors:
        print(f"errors: {json.dumps(errors)}")
    print(json.dumps(headline | {"errors": sorted(errors)}))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
