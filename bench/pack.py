"""Drives the policy pack exactly as the Pulumi CLI does: a subprocess speaking the Analyzer gRPC protocol.

`python -u -m pulumi.policy <engine-address> <pack-dir>` with the cwd in the pack dir and the PULUMI_*
environment the engine sets; the first stdout line is the port. Used by the benchmark (cold start,
per-resource `Analyze` latency, resident memory) and by the load test in tests/bench.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACK_DIR = ROOT / "policy-pack"
PROJECT = "ai-data-processing"
ACCOUNT = "111111111111"


def pack_python() -> Path:
    """The pack's own venv as `make setup` builds it (what the CLI runs), else the project venv."""
    own = PACK_DIR / "venv" / "bin" / "python"
    return own if own.exists() else Path(sys.executable)


def urn(stack: str, type_: str, name: str) -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{type_}::{name}"


@dataclass
class PackProcess:
    """A running pack: the process, its port, the seconds from spawn to port line, and a gRPC stub."""

    stack: str = "bench"
    python: Path = field(default_factory=pack_python)
    proc: subprocess.Popen[bytes] | None = None
    port: int = 0
    startup_s: float = 0.0
    _channel: Any = None
    stub: Any = None

    def start(self, config: Mapping[str, str] | None = None) -> PackProcess:
        env = dict(
            os.environ,
            PULUMI_PROJECT=PROJECT,
            PULUMI_STACK=self.stack,
            PULUMI_DRY_RUN="true",
            PULUMI_ORGANIZATION="organization",
            PULUMI_CONFIG=json.dumps(dict(config or {})),
        )
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [str(self.python), "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(PACK_DIR)],
            cwd=PACK_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        self.startup_s = time.perf_counter() - t0
        try:
            self.port = int(line.strip())
        except ValueError:
            err = self._stderr_tail()
            self.stop()
            raise RuntimeError(f"pack wrote an invalid port line {line!r}; stderr: {err}") from None
        return self

    def connect(self) -> Any:
        import grpc
        from pulumi.runtime.proto import analyzer_pb2_grpc

        self._channel = grpc.insecure_channel(
            f"127.0.0.1:{self.port}",
            options=[
                ("grpc.max_send_message_length", 400 * 1024 * 1024),
                ("grpc.max_receive_message_length", 400 * 1024 * 1024),  # as the engine's own client allows
            ],
        )
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        return self.stub

    def analyze(self, type_: str, name: str, properties: Mapping[str, Any], timeout: float = 60) -> Any:
        """One `Analyze` call (a resource's inputs, as the engine sends them at preview)."""
        from pulumi.runtime.proto import analyzer_pb2

        request = analyzer_pb2.AnalyzeRequest(
            type=type_, urn=urn(self.stack, type_, name), name=name, properties=to_struct(properties)
        )
        return self.stub.Analyze(request, timeout=timeout)

    def analyze_stack(self, resources: Iterable[Mapping[str, Any]], timeout: float = 300) -> Any:
        """One `AnalyzeStack` call; resources: {"type", "name", "properties", "parent"?, "dependencies"?}."""
        from pulumi.runtime.proto import analyzer_pb2

        items = [
            analyzer_pb2.AnalyzerResource(
                type=r["type"],
                name=r["name"],
                urn=urn(self.stack, r["type"], r["name"]),
                properties=to_struct(r.get("properties", {})),
                parent=r.get("parent", ""),
                dependencies=r.get("dependencies", []),
            )
            for r in resources
        ]
        return self.stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=items), timeout=timeout)

    def rss_mb(self) -> float:
        """Resident set size of the pack process (Linux /proc), in MiB."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _stderr_tail(self) -> str:
        if self.proc is None or self.proc.stderr is None or self.alive():
            return ""
        return self.proc.stderr.read().decode(errors="replace")[-2000:]

    def stop(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            for stream in (self.proc.stdout, self.proc.stderr):
                with suppress(Exception):
                    stream.close()  # type: ignore[union-attr]

    def __enter__(self) -> PackProcess:
        if self.proc is None:
            self.start()
        if self.stub is None:
            self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def to_struct(properties: Mapping[str, Any]) -> Any:
    from google.protobuf import struct_pb2

    struct = struct_pb2.Struct()
    struct.update(dict(properties))
    return struct


def cold_start_seconds(runs: int = 5) -> list[float]:
    """Spawn-to-port-line times of `runs` fresh pack processes (what the CLI waits for before a preview)."""
    times = []
    for _ in range(runs):
        pack = PackProcess().start()
        times.append(pack.startup_s)
        pack.stop()
    return times


def policy_resource(name: str, document: str) -> dict[str, Any]:
    """An `aws:iam/policy:Policy` as the engine sends its inputs at preview."""
    return {"type": "aws:iam/policy:Policy", "name": name, "properties": {"name": name, "policy": document}}


def managed_policies_rss_mb(documents: Iterable[tuple[str, str]]) -> dict[str, float]:
    """Analyze every document through one pack process; return its RSS before and after, and the peak."""
    with PackProcess() as pack:
        before = pack.rss_mb()
        count = 0
        for name, text in documents:
            res = policy_resource(name, text)
            pack.analyze(res["type"], res["name"], res["properties"])
            count += 1
        after = pack.rss_mb()
        peak = _peak_rss_mb(pack.proc.pid) if pack.proc else float("nan")
    return {
        "analysed": count,
        "rss_before_mb": round(before, 1),
        "rss_after_mb": round(after, 1),
        "rss_peak_mb": round(peak, 1),
    }


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --------------------------------------------------------------------------------------------------
# A synthetic stack, and the pack's latency and memory under it


def _trust(sid: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": sid,
                    "Effect": "Allow",
                    "Principal": {"Service": "ec2.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def synthetic_stack(roles: int, bad_every: int, stack: str = "load") -> tuple[list[dict[str, Any]], set[str]]:
    """``roles`` roles x 5 resources (component, role, policy, attachment, instance profile) as the
    engine sends them at preview; every ``bad_every``-th role's policy grants ``iam:*`` on ``*``.
    Returns the resources and the URNs of the roles that break the budget. Every policy document
    (trust ones included, by their Sid) is distinct, so no resource is answered from a result cache
    filled by another."""
    resources: list[dict[str, Any]] = []
    bad: set[str] = set()
    for i in range(roles):
        name = f"worker-{i:04d}"
        component = urn(stack, "ai-data-processing:iam:DataProcessingRole", name)
        role_urn = urn(stack, "aws:iam/role:Role", name)
        statement = (
            {"Sid": f"Admin{i}", "Effect": "Allow", "Action": "iam:*", "Resource": "*"}
            if i % bad_every == 0
            else {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": f"arn:aws:s3:::acme-ml-raw-load/{name}/*",
            }
        )
        if i % bad_every == 0:
            bad.add(role_urn)
        document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        resources += [
            {"type": "ai-data-processing:iam:DataProcessingRole", "name": name, "properties": {}},
            {
                "type": "aws:iam/role:Role",
                "name": name,
                "parent": component,
                "properties": {"name": name, "assumeRolePolicy": _trust(f"Trust{i}")},
            },
            {
                "type": "aws:iam/policy:Policy",
                "name": f"{name}-policy",
                "parent": component,
                "properties": {"name": f"{name}-policy", "policy": document},
            },
            {
                "type": "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                "name": f"{name}-attach",
                "parent": component,
                "properties": {"role": name, "policyArn": f"arn:aws:iam::{ACCOUNT}:policy/{name}-policy"},
            },
            {
                "type": "aws:iam/instanceProfile:InstanceProfile",
                "name": f"{name}-profile",
                "parent": component,
                "properties": {"name": f"{name}-profile", "role": name},
            },
        ]
    return resources, bad


def latency_summary(milliseconds: list[float]) -> dict[str, Any]:
    """p50/p99/max/mean of per-call milliseconds (nearest rank, as bench/stats.py)."""
    from bench.stats import percentile

    return {
        "n": len(milliseconds),
        "p50_ms": round(percentile(milliseconds, 50), 3),
        "p99_ms": round(percentile(milliseconds, 99), 3),
        "max_ms": round(max(milliseconds), 3),
        "mean_ms": round(statistics.fmean(milliseconds), 3),
    }


def _timed(call: Any) -> tuple[float, Any]:
    start = time.perf_counter_ns()
    result = call()
    return (time.perf_counter_ns() - start) / 1e6, result


def synthetic_stack_figures(roles: int) -> dict[str, Any]:
    """A fresh pack; every resource of a ``roles`` x 5 stack through ``Analyze`` one at a time (each
    timed), then one ``AnalyzeStack``; the pack's resident memory at the end."""
    resources, bad = synthetic_stack(roles, bad_every=10)
    with PackProcess(stack="load") as pack:
        rss_start = pack.rss_mb()
        per_resource = [
            _timed(lambda r=r: pack.analyze(r["type"], r["name"], r["properties"]))[0] for r in resources
        ]
        stack_ms, response = _timed(lambda: pack.analyze_stack(resources))
        flagged = {d.urn for d in response.diagnostics if d.policyName == "iam-effective-permissions-budget"}
        if flagged != bad:
            raise RuntimeError(f"AnalyzeStack flagged {len(flagged)} roles, expected {len(bad)}")
        rss_end = pack.rss_mb()
        peak = _peak_rss_mb(pack.proc.pid) if pack.proc else float("nan")
    return {
        "resources": len(resources),
        "analyze": latency_summary(per_resource),
        "analyze_stack_ms": round(stack_ms, 1),
        "rss_start_mb": round(rss_start, 1),
        "rss_end_mb": round(rss_end, 1),
        "rss_peak_mb": round(peak, 1),
    }


def stock_stack_latency(stack: str) -> dict[str, Any]:
    """Per-resource ``Analyze`` latency for a stock stack: the real program under the mocks (preview),
    the pack configured from the stack's pack config as the CLI does, every resource's request sent
    once and timed, then ``AnalyzeStack`` once."""
    from pipeline import ROOT as PROJECT_ROOT
    from pipeline.preview.packclient import (
        PolicyPackProcess,
        analyze_request,
        load_pack_config,
        reconcile_pack_config,
    )
    from pipeline.program import run_program
    from pipeline.stackconfig import load_project, load_stack_config

    project = load_project(PROJECT_ROOT)
    config = load_stack_config(PROJECT_ROOT, stack, None)
    run = run_program(stack, preview=True, project_dir=PROJECT_ROOT, config=config)
    providers = {r.urn: r for r in run.resources if r.type.startswith("pulumi:providers:")}
    ids = {r.urn: r.id for r in run.resources if r.id}
    pack_config_file = PACK_DIR / "config" / f"{stack}.json"
    with PolicyPackProcess(PACK_DIR, project=project.name, stack=stack, dry_run=True, config=config) as pack:
        info = pack.get_info()
        given = load_pack_config(pack_config_file)
        effective, _notes = reconcile_pack_config(info, given, str(pack_config_file))
        pack.configure(effective)
        pack.configure_stack()
        per_resource = []
        for resource in run.resources:
            provider = providers.get(resource.provider or "") or providers.get(
                (resource.provider or "").rsplit("::", 1)[0]
            )
            request = analyze_request(resource, provider, ids)
            per_resource.append(_timed(lambda req=request: pack._call("Analyze", req))[0])
        stack_ms, _ = _timed(lambda: pack.analyze_stack(run.resources, providers))
    return {"resources": len(run.resources), "analyze": latency_summary(per_resource),
            "analyze_stack_ms": round(stack_ms, 1)}
