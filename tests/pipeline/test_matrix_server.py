"""The matrix against a moto *server* on loopback: the path `make local-up` uses after `pulumi up`.

The server is started here (``python -m pipeline.emulator.moto_aws serve`` on a free 127.0.0.1 port), used
twice, and stopped. The first run deploys the stack's roles itself (as ``pulumi up`` would); the second treats
them as already deployed (``deploy=False``, the local-up mode), which must leave their trust policies
as they were.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from pipeline.emulator.matrix import ALLOWED, DENIED, MatrixResult, attached_managed_arns, run_matrix
from pipeline.emulator.moto_aws import DUMMY_KEY, MotoServer, ServerEmulator
from pipeline.program import run_program

STACK = "dev"


@pytest.fixture(scope="module")
def server_runs() -> Iterator[tuple[Any, MotoServer, MatrixResult, MatrixResult, dict[str, Any]]]:
    run = run_program(STACK, preview=False)
    server = MotoServer(attached_managed_arns(run))
    with server:
        assert server.url.startswith("http://127.0.0.1:")
        first = run_matrix(STACK, run=run, endpoint=server.url)
        second = run_matrix(STACK, run=run, endpoint=server.url, deploy=False)
        emu = ServerEmulator(server.url)
        iam = emu.client("iam", emu.admin_credentials(str(run.outputs["accountId"])))
        trusts = {
            info["name"]: iam.get_role(RoleName=info["name"])["Role"]["AssumeRolePolicyDocument"]
            for info in run.outputs["roles"].values()
        }
        yield run, server, first, second, trusts
    assert server.proc is not None and server.proc.poll() is not None, "the server must be stopped"


def test_server_mode_has_zero_mismatches(server_runs: Any) -> None:
    _run, server, first, second, _trusts = server_runs
    for result in (first, second):
        assert result.ok, [o.check for o in result.mismatches]
        assert server.url in result.emulator
        for role, c in result.counts().items():
            assert c[ALLOWED] > 0 and c[DENIED] > 0, role


def test_deployed_mode_restores_the_real_trust_policies(server_runs: Any) -> None:
    run, _server, _first, second, trusts = server_runs
    for info in run.outputs["roles"].values():
        doc = trusts[info["name"]]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        principals = [st["Principal"] for st in doc["Statement"]]
        assert all("Service" in p for p in principals), principals
        assert {
            s for p in principals for s in ([p["Service"]] if isinstance(p["Service"], str) else p["Service"])
        } == set(info["permissions"]["trustedServices"])
    assert any("restored" in n for n in second.notes)


def test_authorization_is_off_again_after_the_matrix(server_runs: Any) -> None:
    """The matrix turns enforcement on only for its checks; the server is left as it was started."""
    _run, server, *_ = server_runs
    anyone = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=server.url,
        aws_access_key_id=DUMMY_KEY,
        aws_secret_access_key=DUMMY_KEY,
    )
    assert "Buckets" in anyone.list_buckets()
