"""AutomationBackend through the real ``pulumi.automation`` code, with a scripted stand-in for the CLI.

Why: the real CLI is not on every machine (test_promote_cli.py skips without it), but the code between
the promotion and the CLI is ours and the Automation API's: the flags we pass (--policy-pack,
--policy-pack-config, --config-file, --message), how policy events come back through the event log, how
a failing command becomes a CommandError, the DIY backend's refusal of stack tags and the history we read
the deployed commit from. A small executable named ``pulumi`` speaks just enough of the CLI's protocol
(version, stack select/init, preview/up with --event-log, stack output/history/tag, policy analyze) for
LocalWorkspace to drive it; it logs every invocation so the tests can assert on the exact commands.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

import pipeline.promotion.promote as promote_mod
from pipeline.promotion.deploy import AutomationBackend, classify_error, commit_from_message
from pipeline.promotion.promote import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_REFUSED,
    CheckSummary,
    ProjectPaths,
    PromoteRequest,
    promote,
)

COMMIT = "feedfacefeedfacefeedfacefeedfacefeedface"

FAKE_PULUMI = r"""
import json, os, sys, time

state_path = os.environ["FAKE_PULUMI_STATE"]
with open(state_path) as fh:
    state = json.load(fh)
argv = [a for a in sys.argv[1:] if a != "--non-interactive"]
state.setdefault("log", []).append(argv)


def save():
    with open(state_path, "w") as fh:
        json.dump(state, fh)


def opt(name):
    return argv[argv.index(name) + 1] if name in argv else None


def fail(msg, code=255):
    save()
    sys.stderr.write(msg + "\n")
    sys.exit(code)


stack = opt("--stack")
stacks = state.setdefault("stacks", {})
if argv[:1] == ["version"]:
    print("v3.200.0")
    save(); sys.exit(0)
if argv[:2] == ["stack", "select"]:
    if stack not in stacks:
        fail(f"error: no stack named '{stack}' found")
    save(); sys.exit(0)
if argv[:2] == ["stack", "init"]:
    stacks[argv[2]] = {"history": [], "outputs": {}}
    save(); sys.exit(0)
if argv[:2] == ["stack", "output"]:
    print(json.dumps(stacks[stack]["outputs"]))
    save(); sys.exit(0)
if argv[:2] == ["stack", "history"]:
    print(json.dumps(list(reversed(stacks[stack]["history"]))))
    save(); sys.exit(0)
if argv[:3] == ["stack", "tag", "set"]:
    if not state.get("tags_supported"):
        fail("error: stack tags not supported in diy mode")
    stacks[stack].setdefault("tags", {})[argv[3]] = argv[4]
    save(); sys.exit(0)
if argv[:2] == ["policy", "analyze"]:
    analyze = state.get("analyze")  # None: an older CLI; "pass" / "fail": the command exists
    if "--help" in argv:
        if analyze is None:
            print("Usage:\n  pulumi policy [command]\n\nAvailable Commands:\n  ls  new  publish")
        else:
            print("Usage:\n  pulumi policy analyze [flags]")
        save(); sys.exit(0)
    if analyze == "fail":
        fail("error: policy analysis found 1 mandatory violation")
    print("Policy analysis passed")
    save(); sys.exit(0)
if argv[0] in ("preview", "up"):
    if state.get("locked", {}).get(stack):
        with open(opt("--event-log"), "a") as fh:  # end the event stream, as the CLI does on exit
            fh.write(json.dumps({"sequence": 1, "timestamp": 0, "cancelEvent": {}}) + "\n")
        fail("error: the stack is currently locked by 1 lock(s). Either wait for the other process to end")
    events = state.get("events", {}).get(f"{argv[0]}:{stack}", [])
    log = opt("--event-log")
    seq = 0
    with open(log, "a") as fh:
        for ev in events:
            seq += 1
            fh.write(json.dumps({"sequence": seq, "timestamp": 0, "policyEvent": ev}) + "\n")
        fh.write(json.dumps({"sequence": seq + 1, "timestamp": 0,
                             "summaryEvent": {"resourceChanges": {"create": 4}}}) + "\n")
        fh.write(json.dumps({"sequence": seq + 2, "timestamp": 0, "cancelEvent": {}}) + "\n")
    if any(ev.get("enforcementLevel") == "mandatory" for ev in events):
        fail("error: " + argv[0] + " failed: mandatory policy violations")
    if argv[0] == "up":
        stacks[stack]["outputs"] = state["outputs"][stack]
        stacks[stack]["history"].append({
            "kind": "update", "result": "succeeded", "message": opt("--message") or "",
            "startTime": "2026-11-27T00:00:00.000000Z", "endTime": "2026-11-27T00:00:01.000000Z",
            "environment": {}, "config": {}, "version": len(stacks[stack]["history"]) + 1,
        })
    save(); sys.exit(0)
fail("error: fake pulumi does not know: " + " ".join(argv))
"""


@pytest.fixture(scope="module")
def stock_outputs() -> dict[str, Any]:
    """What each stock stack exports, from the program under mocks (computed once for the module)."""
    from pipeline.promotion.promote import effective_roles

    return {
        s: {"roles": effective_roles(s, ProjectPaths()), "accountId": "x", "stack": s}
        for s in ("dev", "staging", "prod")
    }


@pytest.fixture
def fake_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stock_outputs: dict[str, Any]
) -> dict[str, Any]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "pulumi"
    exe.write_text(f"#!{sys.executable}\n{FAKE_PULUMI}", encoding="utf-8")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    state_file = tmp_path / "fake-state.json"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_PULUMI_STATE", str(state_file))
    monkeypatch.setenv("PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK", "1")
    # The offline check is exercised in test_promote_offline.py; here it only costs time.
    monkeypatch.setattr(promote_mod, "offline_check", lambda stack, paths: CheckSummary((), (), 0))

    outputs = stock_outputs
    state: dict[str, Any] = {
        "stacks": {s: {"history": [], "outputs": {}} for s in ("dev", "staging", "prod")},
        "outputs": outputs,
        "events": {},
    }

    def write(**changes: Any) -> None:
        state.update(changes)
        state_file.write_text(json.dumps(state), encoding="utf-8")

    def read() -> dict[str, Any]:
        return json.loads(state_file.read_text(encoding="utf-8"))

    write()
    return {"write": write, "read": read, "state": state}


def run(**kw: Any) -> tuple[Any, list[str]]:
    lines: list[str] = []
    report = promote(PromoteRequest(commit=COMMIT, **kw), emit=lines.append)
    return report, lines


def _commands(log: list[list[str]], verb: str) -> list[list[str]]:
    return [a for a in log if a and a[0] == verb]


def test_whole_promotion_through_the_automation_api(fake_cli: dict[str, Any]) -> None:
    report, lines = run(target="prod", yes=True)
    assert report.exit_code == EXIT_OK, "\n".join(lines)
    assert [s.status for s in report.stages] == ["deployed", "deployed", "deployed"]
    log = fake_cli["read"]()["log"]
    ups = _commands(log, "up")
    assert [u[u.index("--stack") + 1] for u in ups] == ["dev", "staging", "prod"]
    for cmd in _commands(log, "preview") + ups:
        stack = cmd[cmd.index("--stack") + 1]
        pack = cmd[cmd.index("--policy-pack") + 1]
        config = cmd[cmd.index("--policy-pack-config") + 1]
        assert Path(pack) == ProjectPaths().pack and Path(config) == ProjectPaths().pack_config(stack)
        assert "--config-file" not in cmd  # no override: the stack's own Pulumi.<stack>.yaml
    assert [u[u.index("--message") + 1] for u in ups] == [
        f"promote {s} at commit {COMMIT}" for s in ("dev", "staging", "prod")
    ]
    history = fake_cli["read"]()["stacks"]["prod"]["history"]
    assert commit_from_message(history[-1]["message"]) == COMMIT
    record = next(s for s in report.stages[2].steps if s.name == "record commit")
    assert "no stack tags" in record.detail
    analyze = next(s for s in report.stages[2].steps if s.name == "policy analyze")
    assert analyze.status == "skipped"


def test_mandatory_policy_event_in_staging_stops_before_prod(fake_cli: dict[str, Any]) -> None:
    fake_cli["write"](
        events={
            "preview:staging": [
                {
                    "message": "arn:aws:iam::aws:policy/AdministratorAccess is denied",
                    "policyName": "iam-managed-policy-attachments",
                    "policyPackName": "least-privilege",
                    "enforcementLevel": "mandatory",
                    "resourceUrn": "urn:pulumi:staging::ai-data-processing::x",
                }
            ]
        }
    )
    report, _lines = run(target="prod", yes=True)
    assert report.exit_code == EXIT_REFUSED
    assert [s.status for s in report.stages] == ["deployed", "refused", "not run"]
    preview = report.stages[1].steps[-1]
    assert preview.name == "preview" and "iam-managed-policy-attachments" in preview.findings[0]
    log = fake_cli["read"]()["log"]
    assert not any("prod" in cmd for cmd in log if cmd[0] in ("preview", "up"))


def test_cant_run_during_preview_advisory_stops_staging(fake_cli: dict[str, Any]) -> None:
    advisory = {
        "message": "can't run policy 'iam-no-wildcard-actions' from policy pack 'least-privilege@v0.1.0' "
        "during preview: string value at .policy can't be known during preview",
        "policyName": "iam-no-wildcard-actions",
        "policyPackName": "least-privilege",
        "enforcementLevel": "advisory",
    }
    fake_cli["write"](events={"preview:dev": [advisory], "preview:staging": [advisory]})
    report, _lines = run(target="staging")
    assert [s.status for s in report.stages] == ["deployed", "refused"]
    assert report.exit_code == EXIT_REFUSED


def test_gate_reads_the_previous_stage_from_the_history(fake_cli: dict[str, Any]) -> None:
    report, _ = run(target="staging")
    assert report.exit_code == EXIT_OK
    report, lines = run(target="prod", start="prod", yes=True)
    assert report.exit_code == EXIT_OK, "\n".join(lines)
    lines = []
    other = promote(PromoteRequest(target="prod", start="prod", yes=True, commit="0" * 40), emit=lines.append)
    assert other.exit_code == EXIT_REFUSED
    assert f"staging is deployed at {COMMIT}, not at {'0' * 40}" in other.stages[2].steps[0].detail
    log = fake_cli["read"]()["log"]
    assert sum(1 for cmd in log if cmd[0] == "up" and "prod" in cmd) == 1  # only the first prod run


def test_stack_not_found_and_lock_are_one_line_exit_2(fake_cli: dict[str, Any]) -> None:
    state = fake_cli["state"]
    del state["stacks"]["staging"]
    fake_cli["write"]()
    report, lines = run(target="staging")
    assert report.exit_code == EXIT_ERROR
    assert report.error.startswith("stack 'staging' does not exist in ")
    assert lines[-1] == f"promote: error: {report.error}"

    state["stacks"]["staging"] = {"history": [], "outputs": {}}
    fake_cli["write"](locked={"dev": True})
    report, lines = run(target="staging")
    assert report.exit_code == EXIT_ERROR
    assert "locked by another update" in report.error and report.stages[0].status == "error"


def test_create_stacks_initialises_missing_stacks(fake_cli: dict[str, Any]) -> None:
    fake_cli["write"](stacks={})
    report, lines = run(target="dev", create_stacks=True)
    assert report.exit_code == EXIT_OK, "\n".join(lines)
    log = fake_cli["read"]()["log"]
    init = next(i for i, cmd in enumerate(log) if cmd[:3] == ["stack", "init", "dev"])
    assert log[init - 1][:2] == ["stack", "select"]  # tried to select first, then created it


def test_stack_file_override_is_passed_as_config_file(fake_cli: dict[str, Any], tmp_path: Path) -> None:
    override = tmp_path / "Pulumi.dev.yaml"
    override.write_text((ProjectPaths().project_dir / "Pulumi.dev.yaml").read_text(encoding="utf-8"))
    backend = AutomationBackend(ProjectPaths().project_dir, stack_files={"dev": override})
    paths = ProjectPaths()
    outcome = backend.preview("dev", pack_dir=paths.pack, pack_config=paths.pack_config("dev"))
    assert outcome.succeeded and outcome.changes == {"create": 4}
    preview = _commands(fake_cli["read"]()["log"], "preview")[-1]
    assert preview[preview.index("--config-file") + 1] == str(override.resolve())


def test_summary_never_found_is_classified() -> None:
    assert classify_error(RuntimeError("summary event never found"), stack="dev") is not None
    assert classify_error(RuntimeError("something else")) is None


def test_policy_analyze_failure_on_the_deployed_state_refuses_the_stage(fake_cli: dict[str, Any]) -> None:
    fake_cli["write"](analyze="fail")
    report, _ = run(target="staging")
    assert report.exit_code == EXIT_REFUSED and report.stopped_at == "dev"
    analyze = report.stages[0].steps[-1]
    assert analyze.name == "policy analyze" and "mandatory violation" in analyze.detail
    log = fake_cli["read"]()["log"]
    cmd = next(c for c in log if c[:2] == ["policy", "analyze"] and "--help" not in c)
    assert cmd[cmd.index("--stack") + 1] == "dev"
    assert Path(cmd[cmd.index("--policy-pack-config") + 1]) == ProjectPaths().pack_config("dev")
    assert not any(c[:3] == ["stack", "tag", "set"] for c in log)  # not recorded as promoted


def test_commit_tag_where_the_backend_keeps_tags(fake_cli: dict[str, Any]) -> None:
    fake_cli["write"](analyze="pass", tags_supported=True)
    report, _ = run(target="dev")
    assert report.exit_code == EXIT_OK
    steps = {s.name: s for s in report.stages[0].steps}
    assert steps["policy analyze"].status == "ok"
    assert "stack tag promote-commit" in steps["record commit"].detail
    assert fake_cli["read"]()["stacks"]["dev"]["tags"] == {"promote-commit": COMMIT}


def test_an_update_after_the_promotion_blocks_the_next_stage(fake_cli: dict[str, Any]) -> None:
    def entry(result: str, message: str) -> dict[str, Any]:
        return {"kind": "update", "result": result, "message": message, "environment": {}, "config": {},
                "startTime": "2026-11-27T00:00:00.000000Z"}

    promoted = entry("succeeded", f"promote staging at commit {COMMIT}")
    state = fake_cli["state"]
    for later, why in ((entry("failed", "promote staging at commit x"), "no promoted commit"),
                       (entry("succeeded", "hotfix by hand"), "no promoted commit")):
        state["stacks"]["staging"]["history"] = [promoted, later]
        fake_cli["write"]()
        report, _ = run(target="prod", start="prod", yes=True)
        assert report.exit_code == EXIT_REFUSED
        assert why in report.stages[2].steps[0].detail
    state["stacks"]["staging"]["history"] = [promoted]
    fake_cli["write"]()
    report, _ = run(target="prod", start="prod", yes=True)
    assert report.exit_code == EXIT_OK
