"""The benchmark's protocol (nothing here is timed): result caches cleared outside the timed region,
each document visited once in first visit, tools alternating end to end, and a summary JSON that names
what each figure is and checks it against its target."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from least_privilege import analysis, caches, catalog, lists, managed_policies

from bench import __main__ as bench_main
from bench import endtoend, ours, timing
from bench.corpora import Doc

WILDCARD = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
)
SCOPED = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}],
    }
)


def test_clear_result_caches_empties_document_caches_and_keeps_the_catalog_warm() -> None:
    analysis.check_identity_policy(WILDCARD)
    assert analysis._rule_findings.cache_info().currsize > 0
    services_loaded = catalog.expand_action_pattern_lower.cache_info().currsize
    assert services_loaded > 0
    assert caches.clear_result_caches() > 0
    assert analysis._rule_findings.cache_info().currsize == 0
    assert catalog.expand_action_pattern_lower.cache_info().currsize == services_loaded
    assert "least_privilege.analysis._rule_findings" in caches.result_caches()


def test_clearing_also_empties_pythons_regex_cache() -> None:
    """A NotAction list is matched as one regular expression built from the document's text; the re
    module keeps it compiled, so a steady-state call would otherwise be served from that cache."""
    import re

    pattern = re.compile("(?:s3:get.*)|(?:iam:pass.*)")
    assert re.compile("(?:s3:get.*)|(?:iam:pass.*)") is pattern
    caches.clear_result_caches()
    assert re.compile("(?:s3:get.*)|(?:iam:pass.*)") is not pattern


def test_every_named_catalog_cache_exists() -> None:
    """A renamed cache must not silently drop out of the list (it would then be cleared, which is only
    slower, but the list would lie)."""
    assert lists and managed_policies  # loaded, so their caches are listed
    loaded = {name for name, _ in caches.engine_caches()}
    modules = {name.rsplit(".", 1)[0] for name in loaded}
    for entry in caches.CATALOG_CACHES:
        module, _, name = entry.rpartition(".")
        if name == "*":
            assert module in modules, entry
        else:
            assert entry in loaded, f"{entry} is not a cache of a loaded engine module"


def test_steady_resets_before_each_timed_call_and_outside_the_timed_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events: list[str] = []
    ticks = iter(range(1_000_000))

    def clock() -> int:
        events.append("clock")
        return next(ticks)

    monkeypatch.setattr(timing.time, "perf_counter_ns", clock)

    def run(text: str) -> list[dict[str, Any]]:
        events.append(f"run {text}")
        return []

    result = timing.steady(run, [("a", "A"), ("b", "B")], reset=lambda: events.append("reset"))
    assert set(result) == {"a", "b"} and all(r["runs"] == 2 for r in result.values())
    timed = events[events.index("run B") + 2 :]  # after the warm-up pass (run, clock)
    assert timed == ["reset", "clock", "run A", "clock", "reset", "clock", "run B", "clock"]


def test_first_visit_runs_every_document_exactly_once() -> None:
    seen: list[str] = []
    result = timing.first_visit(lambda text: seen.append(text) or [], [("a", "A"), ("b", "B"), ("c", "C")])
    assert seen == ["A", "B", "C"]
    assert all(r["runs"] == 1 for r in result.values())


def test_our_steady_state_is_never_served_from_the_document_cache() -> None:
    docs = [
        Doc("one", "managed", WILDCARD),
        Doc("same-again", "managed", WILDCARD),
        Doc("two", "managed", SCOPED),
    ]
    result = ours.steady(docs)
    assert set(result) == {"one", "same-again", "two"}
    info = analysis._rule_findings.cache_info()
    # Cleared before every timed call: no hit at all, even for the repeated document.
    assert info.hits == 0 and info.currsize == 1
    assert any(f["rule"] == "iam-no-wildcard-resources" for f in result["one"]["findings"])


def test_both_protocols_run_in_a_fresh_interpreter(tmp_path: Path) -> None:
    documents = tmp_path / "documents.json"
    documents.write_text(json.dumps([Doc("one", "managed", WILDCARD).to_dict(),
                                     Doc("other", "generated", SCOPED).to_dict()]))
    result = ours.per_document(documents, "managed")
    assert set(result["first_visit"]) == set(result["steady"]) == {"one"}
    assert result["import_ms"] > 0
    assert result["first_visit"]["one"]["runs"] == 1 and result["steady"]["one"]["runs"] == 2
    assert result["first_visit"]["one"]["findings"] == result["steady"]["one"]["findings"]


def test_both_takes_the_first_pass_as_the_first_visit_and_resets_before_each_timed_call() -> None:
    calls: list[str] = []
    result = timing.both(lambda text: calls.append(text) or [], [("a", "A"), ("b", "B")],
                         reset=lambda: calls.append("reset"))
    assert calls == ["A", "B", "reset", "A", "reset", "B"]
    assert all(r["runs"] == 1 for r in result["first_visit"].values())
    assert all(r["runs"] == 2 for r in result["steady"].values())


def test_a_document_slower_than_the_limit_is_not_run_twice() -> None:
    calls: list[str] = []
    result = timing.both(lambda text: calls.append(text) or [], [("a", "A")], slow_ms=-1.0)
    assert calls == ["A"]
    assert result["steady"]["a"] is result["first_visit"]["a"]


def test_end_to_end_alternates_tools_and_runs_the_real_commands(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    order: list[str] = []

    def fake_run(cmd: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        tool = "ours" if cmd[1:3] == ["-m", "least_privilege"] else cmd[3]
        order.append(tool)
        files = [a for a in cmd if a.endswith(".json")]
        return subprocess.CompletedProcess(cmd, 1, json.dumps({"files": [{"path": f} for f in files]}), "")

    monkeypatch.setattr(endtoend.subprocess, "run", fake_run)
    docs = [Doc("a", "managed", WILDCARD), Doc("b", "managed", SCOPED)]
    result = endtoend.run_rounds(docs, peers_python=tmp_path / "python", rounds=3)
    assert order == ["ours", "parliament", "cloudsplaining"] * 3
    assert set(result["ratios"]) == {"parliament", "cloudsplaining"}
    assert all(len(s["runs"]) == 3 for s in result["seconds"].values())
    ours_cmd = endtoend.commands(["x.json"], None)["ours"]
    assert ours_cmd[1:] == ["-m", "least_privilege", "lint", "--kind", "identity", "--json", "x.json"]


def test_end_to_end_refuses_a_tool_that_skips_files(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_run(cmd: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(cmd, 0, json.dumps({"files": []}), "")

    monkeypatch.setattr(endtoend.subprocess, "run", fake_run)
    with pytest.raises(RuntimeError, match="reported 0 of 1"):
        endtoend.run_rounds([Doc("a", "managed", WILDCARD)], peers_python=None, rounds=1)


def _tables(ours_mean: float, peer_mean: float) -> dict[str, Any]:
    def summary(mean: float) -> dict[str, Any]:
        return {"n": 3, "mean": mean, "median": mean, "p99": mean * 2, "max": mean * 3, "errors": 0}

    return {
        "summary": {"managed": {"ours": summary(ours_mean), "parliament": summary(peer_mean),
                                "cloudsplaining": summary(peer_mean)}},
        "ratios": {"parliament": {"managed": peer_mean / ours_mean},
                   "cloudsplaining": {"managed": peer_mean / ours_mean}},
    }


def test_summary_json_names_each_figure_and_judges_the_targets() -> None:
    headline = bench_main.build_headline(
        {"first_visit": _tables(1.0, 4.0), "steady": _tables(0.2, 4.0)},
        {"seconds": {"ours": {"median": 1.0}, "parliament": {"median": 12.0},
                     "cloudsplaining": {"median": 4.0}},
         "ratios": {"parliament": 12.0, "cloudsplaining": 4.0}},
        {"import_ms": {"managed": 50.0}},
        {"median_ms": 120.0},
        {"analyze_latency": {"dev": {"resources": 15, "analyze": {"p50_ms": 1.0, "p99_ms": 3.0}}},
         "rss_after_1000_resources_mb": 60.0},
        {"median_s": 1.0},
        {"per_role_ms": {10: 50.0, 250: 9.0}},
        {"examples": 10},
    )
    for key in ("end_to_end_s", "first_visit_ms", "steady_ms", "ratios"):
        assert (key in headline and key in headline["protocols"]) or key == "ratios"
    assert set(headline["ratios"]) == {"end_to_end", "first_visit", "steady"}
    assert headline["steady_ms"]["managed"]["ours"] == {"mean": 0.2, "p99": 0.4, "max": pytest.approx(0.6)}
    assert headline["pack_analyze_ms"]["dev"] == {"p50": 1.0, "p99": 3.0, "resources": 15}
    verdicts = {t["target"]: t["met"] for t in headline["targets"]}
    assert verdicts["end to end, Parliament / ours >= 10"] is True
    assert verdicts["end to end, Cloudsplaining / ours >= 5"] is False
    assert verdicts["steady, managed, mean <= 0.3 ms"] is True
    assert verdicts["first visit, managed, p99 <= 5 ms"] is True
    assert verdicts["offline check <= 10 ms per role (250 roles)"] is True
    json.dumps(headline)


def test_peer_runner_reads_the_shared_timing_module() -> None:
    """bench/peers.py runs outside the project (the peers' venv) and must import nothing of it."""
    proc = subprocess.run([sys.executable, "-I", str(endtoend.PEERS_SCRIPT)], capture_output=True, text=True)
    assert proc.returncode == 2 and "documents FILE TOOL CORPUS both" in proc.stderr
