"""`python -m pipeline check --live`: the same report from the real `pulumi preview --policy-pack`.

Runs `pulumi preview --stack <s> --policy-pack policy-pack --policy-pack-config policy-pack/config/<s>.json`
against a local file backend (`file://<project>/.state`), so no Pulumi Cloud account is needed, and
reads the policy events from the engine's event log (`--event-log`): the `--json` preview digest
drops policy events, the event log keeps them. The stack is created in the local backend on first use.

Passphrase: `PULUMI_CONFIG_PASSPHRASE` from the environment, else the documented local default
`offline-check` (the stacks hold no secrets; the passphrase only protects the local state file).
The tracked stack file is never modified: the CLI previews a generated copy (`--config-file`) holding
the local passphrase salt and, when no AWS credentials are found, provider settings that let a
create-only preview run without any AWS call (`skipCredentialsValidation`, `skipRequestingAccountId`,
dummy keys); the policy verdict does not depend on AWS.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pipeline import ROOT
from pipeline.errors import ConfigurationError, LiveError
from pipeline.preview.packclient import CANT_RUN_PREFIX, load_pack_config
from pipeline.preview.verdict import PREVIEW_VERIFIABLE_POLICY, StackFailure, StackReport, Violation, role_of
from pipeline.program import run_program
from pipeline.recording import RecordedResource
from pipeline.reviewed_exceptions import summarize
from pipeline.stackconfig import load_project, load_stack_config
from pipeline.yamlfile import parse_yaml

DEFAULT_PASSPHRASE = "offline-check"


def pulumi_cli() -> str | None:
    """The `pulumi` executable on PATH, or None."""
    return shutil.which("pulumi")


def live_environment(project_dir: Path) -> dict[str, str]:
    """Environment for the CLI: local file backend, passphrase, no update-check noise."""
    env = dict(os.environ)
    state = project_dir / ".state"
    state.mkdir(exist_ok=True)
    env.setdefault("PULUMI_BACKEND_URL", state.resolve().as_uri())
    env.setdefault("PULUMI_CONFIG_PASSPHRASE", DEFAULT_PASSPHRASE)
    env.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
    env["PULUMI_SKIP_CONFIRMATIONS"] = "true"
    return env


def _run(
    cmd: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(cmd),
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


SALT_RE = re.compile(r"^encryptionsalt:.*$", re.MULTILINE)
OFFLINE_PROVIDER: dict[str, Any] = {
    "aws:skipCredentialsValidation": True,
    "aws:skipRequestingAccountId": True,
    "aws:skipMetadataApiCheck": True,
    "aws:accessKey": "offline-preview",
    "aws:secretKey": "offline-preview",
}
"""Provider settings for a preview without AWS credentials: a create-only preview makes no AWS call."""


def has_aws_credentials(env: Mapping[str, str]) -> bool:
    """Whether the AWS provider could find credentials (environment, profile or shared files)."""
    if env.get("AWS_ACCESS_KEY_ID") or env.get("AWS_PROFILE") or env.get("AWS_WEB_IDENTITY_TOKEN_FILE"):
        return True
    home = Path(env.get("HOME", str(Path.home())))
    return (home / ".aws" / "credentials").exists() or (home / ".aws" / "config").exists()


def select_stack(
    cli: str, stack: str, stack_file: Path, project_dir: Path, env: Mapping[str, str]
) -> str | None:
    """`pulumi stack select --create` in the local backend, leaving the tracked stack file unchanged.

    Creating a passphrase stack writes `encryptionsalt:` into `Pulumi.<stack>.yaml`; that line belongs to
    the local state, so it is kept in `.state/` and the tracked file is restored byte for byte.
    Returns the salt line to use with `--config-file`.
    """
    salt_file = project_dir / ".state" / f"Pulumi.{stack}.salt"
    original = stack_file.read_bytes()
    cmd = [cli, "stack", "select", "--create", "--secrets-provider", "passphrase", "--stack", stack]
    try:
        select = _run([*cmd, "--non-interactive"], project_dir, env)
        found = SALT_RE.search(stack_file.read_text(encoding="utf-8"))
        if found:
            salt_file.write_text(found.group(0) + "\n", encoding="utf-8")
    finally:
        if stack_file.read_bytes() != original:
            stack_file.write_bytes(original)
    if select.returncode != 0:
        why = select.stderr.strip() or select.stdout.strip()
        raise LiveError(f"pulumi stack select {stack} failed: {why}")
    return salt_file.read_text(encoding="utf-8").strip() if salt_file.exists() else None


def live_stack_file(text: str, salt: str | None, env: Mapping[str, str]) -> str:
    """The stack file the CLI previews with: the tracked one, plus the local salt and, without AWS
    credentials, provider settings that let a preview run with no AWS call."""
    data = parse_yaml(SALT_RE.sub("", text), "stack file") or {}
    if not has_aws_credentials(env):
        config = data.setdefault("config", {})
        for key, value in OFFLINE_PROVIDER.items():
            config.setdefault(key, value)
    if salt:
        data["encryptionsalt"] = salt.split(":", 1)[1].strip()
    import yaml

    return yaml.safe_dump(data, sort_keys=False)


def policy_events(event_log: Iterable[str]) -> list[dict[str, Any]]:
    """The `policyEvent` payloads of an engine event log (one JSON object per line)."""
    events = []
    for line in event_log:
        line = line.strip()
        if not line:
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict) and isinstance(event.get("policyEvent"), dict):
            events.append(event["policyEvent"])
    return events


def registered_urns(event_log: Iterable[str]) -> list[str]:
    """URNs of the resources the preview stepped over (resourcePreEvent metadata)."""
    urns: list[str] = []
    for line in event_log:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        meta = (event.get("resourcePreEvent") or {}).get("metadata") if isinstance(event, dict) else None
        if isinstance(meta, dict) and meta.get("urn") and meta["urn"] not in urns:
            urns.append(meta["urn"])
    return urns


def _resource_from_urn(urn: str) -> RecordedResource:
    qualified, name = urn.split("::")[2], urn.split("::")[3]
    return RecordedResource(
        type=qualified.split("$")[-1], name=name, urn=urn, custom=True, parent=None, inputs={}
    )


def violations_from_events(
    events: Iterable[Mapping[str, Any]], urns: Sequence[str], roles: set[str], preview_verifiable_level: str
) -> list[Violation]:
    """Engine policy events -> the offline report's violations (same fields, same failure rule)."""
    by_urn = {u: _resource_from_urn(u) for u in urns if u.count("::") >= 3}
    out: list[Violation] = []
    for event in events:
        level = str(event.get("enforcementLevel", "advisory")).lower()
        message = str(event.get("message", ""))
        urn = str(event.get("resourceUrn") or "") or None
        description = str(event.get("description", ""))
        unverifiable = level == "advisory" and CANT_RUN_PREFIX in message
        resource = by_urn.get(urn or "") or (
            _resource_from_urn(urn) if urn and urn.count("::") >= 3 else None
        )
        out.append(
            Violation(
                policy=str(event.get("policyName", "")),
                enforcement_level=level,
                message=message.strip(),
                description=description,
                urn=urn,
                resource_type=resource.type if resource else None,
                resource_name=resource.name if resource else None,
                role=role_of(urn, by_urn, roles) if urn else None,
                phase="preview",
                unverifiable=unverifiable,
                counts_as_failure=level in ("mandatory", "remediate")
                or (unverifiable and preview_verifiable_level == "mandatory"),
            )
        )
    return out


def live_check_stack(stack: str, *, project_dir: Path = ROOT) -> StackReport:
    """Run the real CLI preview with the pack for one stack and report like the offline check."""
    cli = pulumi_cli()
    if cli is None:
        raise LiveError(
            "--live needs the Pulumi CLI on PATH (https://www.pulumi.com/docs/install/); "
            "the offline check (without --live) needs nothing else"
        )
    started = time.perf_counter()
    project = load_project(project_dir)
    config = load_stack_config(project_dir, stack)
    pack_dir = project_dir / "policy-pack"
    pack_config_file = pack_dir / "config" / f"{stack}.json"
    if not pack_config_file.is_file():
        raise ConfigurationError(f"{pack_config_file}: policy pack config for stack '{stack}' not found")
    pack_config = load_pack_config(pack_config_file)
    level = "advisory"
    for key in ("all", PREVIEW_VERIFIABLE_POLICY):
        if key in pack_config and pack_config[key].enforcement_level:
            level = pack_config[key].enforcement_level or level
    env = live_environment(project_dir)
    stack_file = project.stack_file(stack)
    salt = select_stack(cli, stack, stack_file, project_dir, env)
    with tempfile.TemporaryDirectory() as tmp:
        event_log = Path(tmp) / "events.jsonl"
        config_file = Path(tmp) / f"Pulumi.{stack}.yaml"
        config_file.write_text(
            live_stack_file(stack_file.read_text(encoding="utf-8"), salt, env), encoding="utf-8"
        )
        cmd = [
            cli,
            "preview",
            "--stack",
            stack,
            "--non-interactive",
            "--json",
            "--event-log",
            str(event_log),
            "--config-file",
            str(config_file),
            "--policy-pack",
            str(pack_dir),
            "--policy-pack-config",
            str(pack_config_file),
        ]
        result = _run(cmd, project_dir, env)
        lines = event_log.read_text(encoding="utf-8").splitlines() if event_log.exists() else []
    events = policy_events(lines)
    if result.returncode != 0 and not events:
        raise LiveError(
            f"pulumi preview --stack {stack} failed (exit {result.returncode}):\n"
            f"{(result.stderr or result.stdout).strip()[-3000:]}"
        )
    urns = registered_urns(lines)
    roles: set[str] = set()
    with contextlib.suppress(ValueError, TypeError):
        roles = {r["name"] for r in json.loads(config.get(f"{project.name}:roles", "[]")) if "name" in r}
    violations = violations_from_events(events, urns, roles, level)
    # The permissions table comes from the program itself (the CLI preview does not show outputs).
    outputs = run_program(stack, preview=False, project_dir=project_dir, config=config).outputs
    return StackReport(
        stack=stack,
        project=project.name,
        stack_file=project.stack_file(stack),
        pack_config_file=pack_config_file,
        pack_name=str(events[0].get("policyPackName", "")) if events else "policy-pack",
        pack_version=str(events[0].get("policyPackVersion", "")) if events else "",
        resources=[
            {"type": _resource_from_urn(u).type, "name": _resource_from_urn(u).name, "urn": u}
            for u in urns
            if u.count("::") >= 3
        ],
        violations=violations,
        roles=outputs.get("roles") if isinstance(outputs.get("roles"), dict) else {},
        preview_verifiable_level=level,
        policy_levels={},
        notes=[f"live: pulumi preview exited {result.returncode}"],
        elapsed=time.perf_counter() - started,
        exceptions=summarize(violations, load_pack_config(pack_config_file)),
    )


def live_check_each_stack(
    stacks: Sequence[str], *, project_dir: Path = ROOT
) -> list[StackReport | StackFailure]:
    """`live_check_stack` for each stack, in order (the CLI serialises on the local backend anyway); a
    stack that cannot be previewed becomes a `StackFailure`, the others still get their report."""
    if pulumi_cli() is None:
        raise LiveError(
            "--live needs the Pulumi CLI on PATH (https://www.pulumi.com/docs/install/); "
            "the offline check (without --live) needs nothing else"
        )
    results: list[StackReport | StackFailure] = []
    for stack in stacks:
        try:
            results.append(live_check_stack(stack, project_dir=project_dir))
        except (ConfigurationError, LiveError) as exc:
            results.append(StackFailure(stack, exc))
    return results
