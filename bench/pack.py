"""Drives the policy pack exactly as the Pulumi CLI does: a subprocess speaking the Analyzer gRPC protocol.

`python -u -m pulumi.policy <engine-address> <pack-dir>` with the cwd in the pack dir and the PULUMI_*
environment the engine sets; the first stdout line is the port. Used by the benchmark (cold start,
RSS after the managed policies) and by the load test in tests/bench.
"""

from __future__ import annotations

import json
import os
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
