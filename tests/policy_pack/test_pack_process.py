"""The pack launched as the Pulumi CLI launches it, driven over gRPC like the engine drives it.

`<python> -u -m pulumi.policy <engine-address> <pack-dir>` with the pack dir as working directory and
PULUMI_PROJECT/STACK/DRY_RUN/CONFIG set; the port is the first stdout line; then GetAnalyzerInfo,
Configure (one entry per policy, reconciled from the --policy-pack-config file as the engine does),
Analyze and AnalyzeStack. Once with the project venv and once with the pack's own venv built only
from policy-pack/requirements.txt, so a missing requirement fails here.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
PACK_DIR = ROOT / "policy-pack"
PACK_VENV = PACK_DIR / "venv"
UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
ACCOUNT = "111111111111"
LEVELS = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "disabled": analyzer_pb2.DISABLED,
    "remediate": analyzer_pb2.REMEDIATE,
}


@pytest.fixture(scope="session")
def pack_venv_python() -> Path:
    """policy-pack/venv (what `make setup` builds), created from requirements.txt alone if missing."""
    python = PACK_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PACK_VENV)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                str(PACK_DIR / "requirements.txt"),
            ],
            check=True,
        )
    return python


@dataclass
class PackProcess:
    proc: subprocess.Popen[bytes]
    stub: analyzer_pb2_grpc.AnalyzerStub
    channel: grpc.Channel
    startup_seconds: float


def start_pack(python: Path, stack: str) -> PackProcess:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.update(
        PULUMI_PROJECT="ai-data-processing",
        PULUMI_STACK=stack,
        PULUMI_DRY_RUN="true",
        PULUMI_CONFIG=json.dumps({"ai-data-processing:accountId": ACCOUNT, "aws:region": "eu-west-1"}),
    )
    started = time.monotonic()
    proc = subprocess.Popen(
        [str(python), "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(PACK_DIR)],
        cwd=PACK_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    line = proc.stdout.readline() if ready else b""
    elapsed = time.monotonic() - started
    if not line.strip().isdigit():
        proc.kill()
        _, err = proc.communicate(timeout=10)
        pytest.fail(f"pack wrote {line!r} instead of a port; stderr:\n{err.decode(errors='replace')}")
    channel = grpc.insecure_channel(f"127.0.0.1:{int(line)}")
    return PackProcess(proc, analyzer_pb2_grpc.AnalyzerStub(channel), channel, elapsed)


def stop_pack(pack: PackProcess) -> None:
    pack.channel.close()
    pack.proc.terminate()
    try:
        pack.proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        pack.proc.kill()
        pack.proc.communicate()


def engine_policy_config(info: Any, config_file: Path) -> dict[str, Any]:
    """What the engine's ReconcilePolicyPackConfig sends: an entry for every policy of the pack."""
    file_config: dict[str, Any] = json.loads(config_file.read_text())
    all_level = file_config.get("all")
    if isinstance(all_level, Mapping):
        all_level = all_level.get("enforcementLevel")
    result: dict[str, Any] = {}
    for policy in info.policies:
        level = all_level or analyzer_pb2.EnforcementLevel.Name(policy.enforcementLevel).lower()
        props: dict[str, Any] = {}
        entry = file_config.get(policy.name)
        if isinstance(entry, str):
            level = entry
        elif isinstance(entry, Mapping):
            level = entry.get("enforcementLevel", level)
            props = {k: v for k, v in entry.items() if k != "enforcementLevel"}
        struct = struct_pb2.Struct()
        struct.update(props)
        result[policy.name] = analyzer_pb2.PolicyConfig(enforcementLevel=LEVELS[level], properties=struct)
    return result


def struct_of(props: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(dict(props))
    return struct


def urn(type_: str, name: str, stack: str) -> str:
    return f"urn:pulumi:{stack}::ai-data-processing::{type_}::{name}"


def doc(*statements: Mapping[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


TRUST = doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})


@pytest.fixture(params=["project-venv", "pack-venv"])
def python_for_pack(request: pytest.FixtureRequest) -> Iterator[Path]:
    if request.param == "pack-venv":
        yield request.getfixturevalue("pack_venv_python")
    else:
        yield Path(sys.executable)


def analyze(stub: Any, type_: str, name: str, stack: str, props: Mapping[str, Any]) -> Any:
    return stub.Analyze(
        analyzer_pb2.AnalyzeRequest(
            type=type_, name=name, urn=urn(type_, name, stack), properties=struct_of(props)
        ),
        timeout=30,
    )


def analyze_alone(stub: Any, type_: str, name: str, stack: str, props: Mapping[str, Any]) -> Any:
    """AnalyzeStack of a stack made of this one resource."""
    resource = analyzer_pb2.AnalyzerResource(
        type=type_, name=name, urn=urn(type_, name, stack), properties=struct_of(props)
    )
    return stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=[resource]), timeout=60)


def by_policy(response: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for d in response.diagnostics:
        out.setdefault(d.policyName, []).append(d)
    return out


def test_pack_over_grpc_prod(python_for_pack: Path) -> None:
    stack = "prod"
    pack = start_pack(python_for_pack, stack)
    try:
        stub = pack.stub
        info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
        names = {p.name for p in info.policies}
        assert {
            "iam-no-wildcard-resources",
            "iam-preview-verifiable",
            "iam-effective-permissions-budget",
        } <= names
        assert all(p.description and p.remediation_steps for p in info.policies)
        assert all(p.severity != analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED for p in info.policies)
        stack_policies = [p.name for p in info.policies if p.policy_type == analyzer_pb2.POLICY_TYPE_STACK]
        assert stack_policies == [
            "iam-preview-verifiable",
            "iam-effective-permissions-budget",
            "iam-no-escalation-across-policies",
            "iam-inline-policies-within-quota",
            "iam-accepted-exceptions",
            "iam-exceptions",
        ]
        stub.Configure(
            analyzer_pb2.ConfigureAnalyzerRequest(
                policyConfig=engine_policy_config(info, PACK_DIR / "config" / f"{stack}.json")
            ),
            timeout=30,
        )

        # An IAM document unknown at preview: a mandatory violation, not the SDK's advisory downgrade.
        # The resource policies skip the unknown part; the stack policy reports it.
        unknown = analyze(stub, "aws:iam/policy:Policy", "p-unknown", stack, {"policy": UNKNOWN_STRING})
        assert not any("can't run policy" in d.message for d in unknown.diagnostics), unknown
        unknown_stack = analyze_alone(
            stub, "aws:iam/policy:Policy", "p-unknown", stack, {"policy": UNKNOWN_STRING}
        )
        found = by_policy(unknown_stack)
        assert "iam-preview-verifiable" in found, unknown_stack
        assert all(d.enforcementLevel == analyzer_pb2.MANDATORY for d in found["iam-preview-verifiable"])
        assert not any("can't run policy" in d.message for d in unknown_stack.diagnostics), unknown_stack

        # A wildcard grant: mandatory, with severity in the text and on the diagnostic.
        wild = analyze(
            stub,
            "aws:iam/policy:Policy",
            "p-wild",
            stack,
            {"policy": doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})},
        )
        wild_found = by_policy(wild)
        assert "iam-no-wildcard-resources" in wild_found, wild
        diag = wild_found["iam-no-wildcard-resources"][0]
        assert diag.enforcementLevel == analyzer_pb2.MANDATORY
        assert "[high]" in diag.message or "[critical]" in diag.message
        assert diag.severity != analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED

        # A clean, scoped policy passes every policy.
        clean = analyze(
            stub,
            "aws:iam/policy:Policy",
            "p-clean",
            stack,
            {
                "policy": doc(
                    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-raw/in/*"}
                )
            },
        )
        assert list(clean.diagnostics) == []

        # Stack: the attachment's ARN is unknown, linked to the Policy only by property dependencies.
        role_urn = urn("aws:iam/role:Role", "worker", stack)
        policy_urn = urn("aws:iam/policy:Policy", "worker-policy", stack)
        resources = [
            analyzer_pb2.AnalyzerResource(
                type="aws:iam/role:Role",
                name="worker",
                urn=role_urn,
                properties=struct_of({"name": "worker", "assumeRolePolicy": TRUST}),
            ),
            analyzer_pb2.AnalyzerResource(
                type="aws:iam/policy:Policy",
                name="worker-policy",
                urn=policy_urn,
                properties=struct_of(
                    {
                        "name": "worker-policy",
                        "policy": doc({"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"}),
                    }
                ),
            ),
            analyzer_pb2.AnalyzerResource(
                type="aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                name="attach",
                urn=urn("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "attach", stack),
                properties=struct_of({"role": "worker", "policyArn": UNKNOWN_STRING}),
                propertyDependencies={
                    "role": analyzer_pb2.AnalyzerPropertyDependencies(urns=[role_urn]),
                    "policyArn": analyzer_pb2.AnalyzerPropertyDependencies(urns=[policy_urn]),
                },
                dependencies=[role_urn, policy_urn],
            ),
        ]
        stack_result = stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources), timeout=60)
        budget = by_policy(stack_result).get("iam-effective-permissions-budget", [])
        assert budget, stack_result
        assert all(d.urn == role_urn and d.enforcementLevel == analyzer_pb2.MANDATORY for d in budget)
        assert any("ec2" in d.message for d in budget)
        assert not any("internal error" in d.message for d in stack_result.diagnostics)
        # The unknown ARN is linked to the stack's Policy: verifiable, not a preview-verifiable violation.
        assert "iam-preview-verifiable" not in by_policy(stack_result), stack_result
    finally:
        stop_pack(pack)
    print(f"cold start ({python_for_pack}): {pack.startup_seconds:.3f}s")


def test_pack_dev_config_keeps_preview_verifiable_advisory() -> None:
    stack = "dev"
    pack = start_pack(Path(sys.executable), stack)
    try:
        stub = pack.stub
        info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
        stub.Configure(
            analyzer_pb2.ConfigureAnalyzerRequest(
                policyConfig=engine_policy_config(info, PACK_DIR / "config" / f"{stack}.json")
            ),
            timeout=30,
        )
        unknown = by_policy(
            analyze_alone(stub, "aws:iam/policy:Policy", "p", stack, {"policy": UNKNOWN_STRING})
        )
        assert [d.enforcementLevel for d in unknown["iam-preview-verifiable"]] == [analyzer_pb2.ADVISORY]
        # Wildcard resources stay mandatory in every environment.
        wild = by_policy(
            analyze(
                stub,
                "aws:iam/rolePolicy:RolePolicy",
                "rp",
                stack,
                {
                    "role": "worker",
                    "policy": doc({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}),
                },
            )
        )
        assert wild["iam-no-wildcard-resources"][0].enforcementLevel == analyzer_pb2.MANDATORY
    finally:
        stop_pack(pack)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_env_configs_name_only_real_policies_and_keep_wildcards_mandatory(stack: str) -> None:
    sys.path.insert(0, str(PACK_DIR))
    try:
        import policies
    finally:
        sys.path.remove(str(PACK_DIR))
    config = json.loads((PACK_DIR / "config" / f"{stack}.json").read_text())
    by_name = {p.name: p for p in policies.ALL_POLICIES}
    for key, value in config.items():
        if key == "all":
            continue
        assert key in by_name, f"{stack}.json configures unknown policy {key}"
        if isinstance(value, dict):
            schema = by_name[key].config_schema
            allowed = set(schema.properties) if schema else set()
            assert set(value) - {"enforcementLevel"} <= allowed, (key, value)
    wild = config["iam-no-wildcard-resources"]
    assert (wild if isinstance(wild, str) else wild["enforcementLevel"]) == "mandatory"
    verifiable = config["iam-preview-verifiable"]
    level = verifiable if isinstance(verifiable, str) else verifiable["enforcementLevel"]
    assert level == ("advisory" if stack == "dev" else "mandatory")
    if stack == "prod":
        levels = [
            v if isinstance(v, str) else v.get("enforcementLevel", config["all"]) for v in config.values()
        ]
        non_mandatory = [k for k, lvl in zip(config, levels, strict=True) if lvl != "mandatory"]
        # The two advisory channels: below-threshold findings, and findings accepted by exception.
        assert non_mandatory == [policies.INFORMATIONAL, "iam-accepted-exceptions"]


def test_env_configs_pass_the_engines_schema_validation() -> None:
    """Each config file reconciles against the schemas the running pack reports, as the CLI validates it
    (pipeline.preview.packclient mirrors ReconcilePolicyPackConfig + gojsonschema)."""
    from pipeline.preview.packclient import PolicyPackProcess, load_pack_config, reconcile_pack_config

    with PolicyPackProcess(PACK_DIR, project="ai-data-processing", stack="prod", dry_run=True) as pack:
        pack.wait_ready()
        info = pack.get_info()
    for stack in ("dev", "staging", "prod"):
        path = PACK_DIR / "config" / f"{stack}.json"
        config, notes = reconcile_pack_config(info, load_pack_config(path), str(path))
        assert notes == []
        assert set(config) == {p.name for p in info.policies}
        assert config["iam-no-wildcard-resources"].enforcement_level == "mandatory"
