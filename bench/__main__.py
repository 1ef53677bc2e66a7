"""`python -m bench` (`make bench`): the whole benchmark in one run, on the same documents for every tool.

Sections run one after another (never in parallel: this is a 2-core machine and the timings would
interfere), each guarded so one failing section is reported and the others still run:
 1. corpora -> bench/out/documents.json (managed, generated from a fixed seed, worst cases);
 2. per document, first visit: each tool in a fresh process per corpus, every document once;
 3. per document, steady state: in the same process, every document again; ours with its result caches
    cleared before each timed call (bench/timing.py says exactly what each protocol is);
 4. the findings comparison on the managed policies (bench/out/findings-diff.md);
 5. end to end: the lint command line over all managed policies as files, and the peers over the same
    files, whole processes, alternating, median of 3 (bench/endtoend.py);
 6. `lint` of one median-size document from a cold process;
 7. the pack: cold start, per-resource `Analyze` latency for the stock stacks and a 5,000-resource
    stack, resident memory after a 1,000-resource stack and after every managed policy;
 8. `python -m pipeline check --stack all` wall time; 9. the offline check of synthetic stacks;
 10. the long hypothesis profile; 11. the plot; and last, one JSON line with the headline figures,
    each named by what it measures, and the targets with whether they are met.
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

from bench import compare, corpora, endtoend, ours, pack, robustness, scaling, stats

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"
PEERS_VENV = BENCH / ".venv-peers"
PEERS_PY = PEERS_VENV / "bin" / "python"
REQUIREMENTS = BENCH / "requirements.txt"
PEERS = ("parliament", "cloudsplaining")
TOOLS = ("ours", *PEERS)


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


def peer_documents(documents: Path, tool: str, corpus: str) -> dict[str, Any]:
    """One peer on one corpus under both protocols, in a fresh process of the peers' venv."""
    log(f"{tool}, {corpus}")
    proc = subprocess.run(
        [str(PEERS_PY), str(BENCH / "peers.py"), "documents", str(documents), tool, corpus, "both"],
        capture_output=True,
        text=True,
        check=True,
    )
    if proc.stderr.strip():
        log(proc.stderr.strip()[-500:])
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def per_document(
    all_docs: dict[str, list[corpora.Doc]], documents: Path, with_peers: bool
) -> tuple[dict[str, dict[str, dict[str, Any]]], dict[str, Any]]:
    """{protocol: {tool: {doc id: result}}} for both protocols, and extras (versions, our import time).
    Each tool runs in a fresh process per corpus: its first pass is the first visit, then the steady
    state (bench/timing.py)."""
    results: dict[str, dict[str, dict[str, Any]]] = {"first_visit": {}, "steady": {}}
    extras: dict[str, Any] = {"versions": {}, "import_ms": {}}
    for corpus in all_docs:
        log(f"ours, {corpus}")
        answer = ours.per_document(documents, corpus)
        extras["import_ms"][corpus] = round(answer["import_ms"], 1)
        for tool, run in [("ours", answer)] + [
            (tool, peer_documents(documents, tool, corpus)) for tool in (PEERS if with_peers else ())
        ]:
            for protocol in ("first_visit", "steady"):
                results[protocol].setdefault(tool, {}).update(run[protocol])
            if tool != "ours":
                extras["versions"][tool] = run["version"]
    return results, extras


# --------------------------------------------------------------------------- sections


def timing_tables(
    all_docs: dict[str, list[corpora.Doc]], results: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Per corpus and tool: summary stats; and the ratios (their mean / our mean)."""
    summaries: dict[str, dict[str, Any]] = {}
    for corpus, docs in all_docs.items():
        summaries[corpus] = {}
        for tool in TOOLS:
            per_doc = results.get(tool, {})
            values = [per_doc[d.id]["ms"] for d in docs if d.id in per_doc]
            summaries[corpus][tool] = stats.summarize(values) | {
                "errors": sum(1 for d in docs if per_doc.get(d.id, {}).get("error"))
            }
    ratios = {
        peer: {c: stats.speedup(summaries[c][peer]["mean"], summaries[c]["ours"]["mean"]) for c in all_docs}
        for peer in PEERS
    }
    return {"summary": summaries, "ratios": ratios}


def print_tables(title: str, tables: dict[str, Any]) -> None:
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
    print(f"## {title}")
    print(stats.table(rows, ["corpus", "tool", "docs", "mean ms", "median", "p99", "max", "errors"]))
    print()
    print(
        stats.table(
            [[peer, *(f"{v}x" if v else "-" for v in by.values())] for peer, by in tables["ratios"].items()],
            ["ratio (theirs / ours, mean)", *tables["ratios"]["parliament"].keys()],
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
    """Cold start; per-resource Analyze latency (stock stacks, 5,000 resources); memory."""
    from pipeline import STACKS

    cold = pack.cold_start_seconds(runs)
    latency = {stack: pack.stock_stack_latency(stack) for stack in STACKS}
    log("pack: 5,000-resource stack")
    latency["5000-resource"] = pack.synthetic_stack_figures(1000)
    log("pack: 1,000-resource stack (memory)")
    thousand = pack.synthetic_stack_figures(200)
    return {
        "cold_start_runs_s": [round(c, 3) for c in cold],
        "cold_start_median_s": round(statistics.median(cold), 3),
        "python": str(pack.pack_python()),
        "analyze_latency": latency,
        "rss_after_1000_resources_mb": thousand["rss_end_mb"],
        "stack_1000_resources": thousand,
        "managed_policies": pack.managed_policies_rss_mb((d.id, d.text) for d in managed),
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
    saved = json.loads((OUT / "per-document.json").read_text(encoding="utf-8"))["steady"]
    peer_results = {t: saved[t] for t in PEERS if t in saved}
    diff = compare.diff(saved["ours"], peer_results, [d.id for d in corpora.managed_policies()])
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


# --------------------------------------------------------------------------- the summary

PROTOCOLS = {
    "first_visit_ms": "milliseconds per document, each document analysed exactly once in a fresh process per "
    "tool and corpus (catalog data loads as documents need it; import excluded, reported apart)",
    "steady_ms": "milliseconds per document after a warm-up pass over the corpus; before each timed call "
    "our engine's result caches are cleared outside the timed region (least_privilege.caches), catalog "
    "caches stay warm; the peers keep no result caches",
    "end_to_end_s": "wall seconds from process start to exit: `python -m least_privilege lint --kind "
    "identity --json` over every AWS managed policy as a file, the peers' libraries over the same files "
    "(bench/peers.py files); tools alternate, median of 3 rounds",
    "ratios": "their figure divided by ours: mean per document for first_visit and steady, median wall "
    "time for end_to_end",
    "cold_lint_ms": "wall milliseconds of `lint --kind identity --json` on the median-size managed policy "
    "from process start to exit, median of 5",
    "pack_analyze_ms": "per-resource Analyze round trip over gRPC to the pack process, each resource sent "
    "once; stock stacks with their pack config, as the CLI sends them",
    "offline_check_ms_per_role": "wall time of the offline check of a synthetic stack divided by its roles",
}


def _stat(summary: dict[str, Any]) -> dict[str, float | None]:
    return {k: (round(summary[k], 3) if summary["n"] else None) for k in ("mean", "p99", "max")}


def _stats_by_corpus(tables: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c: {t: _stat(s) for t, s in by.items() if s["n"]} for c, by in tables["summary"].items()}


def targets(headline: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue, with the measured figure and whether it is met (None: not measured)."""
    steady = headline["steady_ms"].get("managed", {}).get("ours", {})
    first = headline["first_visit_ms"].get("managed", {}).get("ours", {})
    e2e = headline["ratios"].get("end_to_end", {})
    scale = headline.get("offline_check_ms_per_role") or {}
    largest = max((int(n) for n in scale), default=None)

    def row(name: str, target: float, measured: float | None, at_least: bool = False) -> dict[str, Any]:
        met = None if measured is None else (measured >= target if at_least else measured <= target)
        return {"target": name, "limit": target, "measured": measured, "met": met}

    return [
        row("end to end, Parliament / ours >= 10", 10, e2e.get("parliament"), at_least=True),
        row("end to end, Cloudsplaining / ours >= 5", 5, e2e.get("cloudsplaining"), at_least=True),
        row("steady, managed, mean <= 0.3 ms", 0.3, steady.get("mean")),
        row("steady, managed, p99 <= 3 ms", 3, steady.get("p99")),
        row("steady, managed, max <= 10 ms", 10, steady.get("max")),
        row("first visit, managed, p99 <= 5 ms", 5, first.get("p99")),
        row("lint of the median document from a cold process <= 150 ms", 150, headline.get("cold_lint_ms")),
        row(f"offline check <= 10 ms per role ({largest} roles)", 10,
            scale.get(largest) if largest is not None else None),
    ]


def build_headline(
    tables: dict[str, Any],
    e2e: dict[str, Any],
    extras: dict[str, Any],
    cold_lint: dict[str, Any],
    pack_info: dict[str, Any],
    check_info: dict[str, Any],
    scale_info: dict[str, Any],
    fuzz: dict[str, Any],
) -> dict[str, Any]:
    """The summary JSON: every figure under a name that says what it measures (see PROTOCOLS), the
    ratios per protocol, and the targets."""
    latency = pack_info.get("analyze_latency", {})
    headline: dict[str, Any] = {
        "protocols": PROTOCOLS,
        "end_to_end_s": {t: s["median"] for t, s in e2e.get("seconds", {}).items()},
        "first_visit_ms": _stats_by_corpus(tables["first_visit"]),
        "steady_ms": _stats_by_corpus(tables["steady"]),
        "ratios": {
            "end_to_end": e2e.get("ratios", {}),
            "first_visit": tables["first_visit"]["ratios"],
            "steady": tables["steady"]["ratios"],
        },
        "import_ms": extras.get("import_ms", {}),
        "cold_lint_ms": cold_lint.get("median_ms"),
        "pack_cold_start_s": pack_info.get("cold_start_median_s"),
        "pack_analyze_ms": {
            name: {"p50": v["analyze"]["p50_ms"], "p99": v["analyze"]["p99_ms"], "resources": v["resources"]}
            for name, v in latency.items()
        },
        "pack_rss_after_1000_resources_mb": pack_info.get("rss_after_1000_resources_mb"),
        "check_three_stacks_s": check_info.get("median_s"),
        "offline_check_ms_per_role": scale_info.get("per_role_ms", {}),
        "fuzz_examples": fuzz.get("examples"),
    }
    headline["targets"] = targets(headline)
    return headline


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
    with_peers = not args.skip_peers and guarded(errors, "peers venv", ensure_peers_venv) is not None

    measured = guarded(errors, "per document", lambda: per_document(all_docs, documents, with_peers))
    results, extras = measured or ({"first_visit": {}, "steady": {}}, {"versions": {}, "import_ms": {}})
    (OUT / "per-document.json").write_text(json.dumps(results), encoding="utf-8")
    tables = {protocol: timing_tables(all_docs, by_tool) for protocol, by_tool in results.items()}
    print_tables("first visit (ms per document, fresh process, each document once)", tables["first_visit"])
    print_tables("steady state (ms per document, result caches cleared before each)", tables["steady"])

    managed_ids = [d.id for d in all_docs["managed"]]
    steady_results = results["steady"]
    peer_results = {t: steady_results[t] for t in PEERS if steady_results.get(t)}
    gaps: dict[str, Any] = {}
    if peer_results and steady_results.get("ours"):
        diff = guarded(
            errors, "findings diff", lambda: compare.diff(steady_results["ours"], peer_results, managed_ids)
        )
        if diff:
            compare.write_markdown(diff, OUT / "findings-diff.md")
            gaps = compare.summary(diff)
            print("gap documents (peer reports the category, our covering rules are silent):")
            print(json.dumps(gaps, indent=1))

    e2e = guarded(
        errors,
        "end to end",
        lambda: endtoend.run_rounds(all_docs["managed"], PEERS_PY if with_peers else None),
    ) or {}
    median_doc = sorted(all_docs["managed"], key=lambda d: len(d.text))[len(all_docs["managed"]) // 2]
    cold_lint = guarded(errors, "cold lint", lambda: ours.cold_lint_ms(median_doc)) or {}
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
        c: {t: [steady_results[t][d.id]["ms"] for d in docs if d.id in steady_results.get(t, {})]
            for t in TOOLS}
        for c, docs in all_docs.items()
    }
    plot_kind = guarded(
        errors, "plot", lambda: plot({"scaling": scale_info.get("seconds", {}), "distributions": dists})
    )

    headline = build_headline(tables, e2e, extras, cold_lint, pack_info, check_info, scale_info, fuzz)
    info["load_avg_end"] = os.getloadavg()[0]
    full = {
        "headline": headline,
        "machine": info,
        "versions": extras["versions"],
        "timings": tables,
        "end_to_end": e2e,
        "cold_lint": cold_lint,
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
        f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, Python {info['python']}, "
        f"load {info['load_avg_start']:.2f} -> {info['load_avg_end']:.2f}; peers: {extras['versions']}"
    )
    print(f"end to end: {e2e}")
    print(f"cold lint: {cold_lint}")
    print(f"pack: {json.dumps(pack_info)}")
    print(f"check --stack all: {check_info}")
    print(f"scaling: {scale_info}")
    print(f"fuzz: {fuzz}")
    print(f"plot: {OUT / 'bench.png'} ({plot_kind}); details: {OUT / 'results.json'}")
    print(stats.table(
        [[t["target"], t["measured"], {True: "met", False: "MISSED", None: "-"}[t["met"]]]
         for t in headline["targets"]],
        ["target", "measured", ""],
    ))
    if errors:
        print(f"errors: {json.dumps(errors)}")
    print(json.dumps(headline | {"errors": sorted(errors)}))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
