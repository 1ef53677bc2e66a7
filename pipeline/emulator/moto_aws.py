"""moto as an independent judge of IAM documents: in-process or as a loopback server.

Why this module exists: the access matrix (``pipeline.emulator.matrix``) needs an AWS that *evaluates*
identity policies. moto does that once its IAM authorization is switched on, but a few of its behaviours
have to be handled, and each is handled here, in one place, so the matrix can report them instead of
hiding them:

* Authorization is off by default. In-process we toggle it with ``moto.core.authorization``; a server is
  toggled over its ``POST /moto-api/reset-auth`` endpoint (the server-mode twin of
  ``set_initial_no_auth_action_count``). Setup runs with it off, the checks with it on.
* AWS-managed policies are not loaded unless ``MOTO_IAM_LOAD_MANAGED_POLICIES`` is set, and then moto uses
  its own copy. We load the *pack's* snapshot documents instead (``managed_policy_data``), so the emulator
  and the pack judge the same text. moto only builds AWS-managed policies when an account's IAM backend is
  created, so the documents are patched into the two module globals ``_init_aws_policies`` reads.
* A server started by plain ``moto_server`` cannot be given those documents, so ``serve`` below is
  ``moto_server`` plus that patch:
  ``python -m pipeline.emulator.moto_aws serve --port N --managed-policy ARN``.
* Accounts: moto derives the account from the access key. ``admin_credentials`` assumes a (non-existent)
  role in the wanted account while authorization is off, which moto documents as the way to switch
  accounts; the returned keys then act in that account.
* Speed only, same semantics: moto recompiles a regex for every Action/Resource pattern on every request;
  with ReadOnlyAccess (thousands of patterns) that dominated the run, so ``_match`` gets a compile cache.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import ROOT

DEFAULT_REGION = "us-east-1"
DUMMY_KEY = "testing"
DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
_SNAPSHOT_DATE = "2020-01-01T00:00:00+00:00"


class EmulatorError(RuntimeError):
    """The emulator could not be started or set up; the message says which step failed."""


# --------------------------------------------------------------------------- AWS-managed policy documents


def split_managed_arn(arn: str) -> tuple[str, str]:
    """Return (path, name) of an AWS-managed policy ARN, e.g. ("/service-role/", "AWSGlueServiceRole")."""
    prefix = ":iam::aws:policy"
    if prefix not in arn:
        raise ValueError(f"not an AWS-managed policy ARN: {arn}")
    rest = arn.split(prefix, 1)[1]
    path, _, name = rest.rpartition("/")
    return (path + "/") if path else "/", name


def snapshot_document(arn: str) -> tuple[dict[str, Any] | None, str]:
    """The document for an AWS-managed ARN and where it came from.

    The pack's snapshot is preferred (the same text the pack judges); moto's bundled copy is the fallback
    so the emulator still works while the snapshot lacks the policy. Returns (None, reason) when neither
    has it.
    """
    try:
        from least_privilege.managed_policies import managed_policy_document
    except ImportError:
        managed_policy_document = None
    if managed_policy_document is not None:
        with contextlib.suppress(KeyError, LookupError, ValueError):
            doc = managed_policy_document(arn)
            if doc is not None:
                return (json.loads(doc) if isinstance(doc, str) else dict(doc)), "pack snapshot"
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    _, name = split_managed_arn(arn)
    bundled = json.loads(aws_managed_policies_data).get(name)
    if bundled is not None:
        return bundled["Document"], "moto's bundled copy (not in the pack snapshot)"
    return None, "in neither the pack snapshot nor moto's bundled copy"


def managed_policy_data(arns: Iterable[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """moto's ``aws_managed_policies_data`` shape for the given ARNs, and the source of each document."""
    data: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for arn in sorted(set(arns)):
        doc, source = snapshot_document(arn)
        sources[arn] = source
        if doc is None:
            continue
        path, name = split_managed_arn(arn)
        data[name] = {
            "DefaultVersionId": "v1",
            "Path": path,
            "Document": doc,
            "CreateDate": _SNAPSHOT_DATE,
            "UpdateDate": _SNAPSHOT_DATE,
        }
    return data, sources


@functools.lru_cache(maxsize=65536)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + pattern.replace("*", ".*") + "$")


def _cached_match(pattern: str, string: str) -> re.Match[str] | None:
    """moto's ``IAMPolicyStatement._match`` (same translation, same semantics), with the compiled pattern
    cached: ReadOnlyAccess has thousands of action patterns, more than ``re``'s own cache keeps, and
    recompiling them on every request made the matrix take tens of seconds."""
    return _compiled(pattern).match(string)


@contextlib.contextmanager
def _patch_moto(data: Mapping[str, Any]) -> Iterator[None]:
    """Make every IAM backend moto creates from now on hold exactly these AWS-managed policies, and
    cache moto's policy pattern compilation."""
    from unittest import mock

    import moto.iam.access_control as access_control
    import moto.iam.models as iam_models

    with (
        mock.patch.multiple(
            iam_models,
            load_iam_aws_managed_policies=lambda: True,
            aws_managed_policies_data=json.dumps(dict(data)),
        ),
        mock.patch.object(access_control.IAMPolicyStatement, "_match", staticmethod(_cached_match)),
    ):
        yield


# --------------------------------------------------------------------------- emulators


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str | None = None


class Emulator:
    """What the matrix needs from moto: clients, and authorization on/off. Subclasses pick the transport."""

    label = "moto"
    endpoint_url: str | None = None
    region = DEFAULT_REGION
    managed_sources: Mapping[str, str] = {}

    def client(self, service: str, creds: Credentials, region: str | None = None) -> Any:
        """A boto3 client for these keys; cached, because building clients dominates the run time."""
        cache: dict[tuple[str, Credentials, str], Any] = self.__dict__.setdefault("_clients", {})
        key = (service, creds, region or self.region)
        if key not in cache:
            cache[key] = self._new_client(service, creds, region or self.region)
        return cache[key]

    def _new_client(self, service: str, creds: Credentials, region: str) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            service,
            region_name=region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=creds.access_key,
            aws_secret_access_key=creds.secret_key,
            aws_session_token=creds.token,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    @contextlib.contextmanager
    def enforced(self) -> Iterator[None]:
        """IAM authorization on for the duration of the block."""
        raise NotImplementedError

    def admin_credentials(self, account_id: str) -> Credentials:
        """Keys acting in ``account_id`` (authorization must be off while they are used)."""
        sts = self.client("sts", Credentials(DUMMY_KEY, DUMMY_KEY))
        got = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/access-matrix-bootstrap", RoleSessionName="bootstrap"
        )["Credentials"]
        return Credentials(got["AccessKeyId"], got["SecretAccessKey"], got["SessionToken"])


class InProcessEmulator(Emulator):
    """moto's decorator mode (``mock_aws``), with the pack's managed policies loaded."""

    label = "moto in-process (mock_aws)"

    def __init__(self, managed_arns: Iterable[str] = (), region: str = DEFAULT_REGION) -> None:
        self.region = region
        self._data, self.managed_sources = managed_policy_data(managed_arns)
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> InProcessEmulator:
        from moto import mock_aws

        # botocore must not pick up real credentials or a profile while mocked.
        env = {"AWS_ACCESS_KEY_ID": DUMMY_KEY, "AWS_SECRET_ACCESS_KEY": DUMMY_KEY}
        from unittest import mock

        self._stack.enter_context(mock.patch.dict(os.environ, env))
        self._stack.enter_context(_patch_moto(self._data))
        self._stack.enter_context(mock_aws())
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    @contextlib.contextmanager
    def enforced(self) -> Iterator[None]:
        from moto.core.authorization import enable_iam_authentication

        with enable_iam_authentication():
            yield


class ServerEmulator(Emulator):
    """A running moto server (ours from ``serve``, or any ``moto_server``) reached over HTTP."""

    def __init__(self, endpoint_url: str, region: str = DEFAULT_REGION) -> None:
        self.endpoint_url = endpoint_url.rstrip("/")
        self.region = region
        self.label = f"moto server at {self.endpoint_url}"

    def _reset_auth(self, count: str) -> str:
        # text/plain: with urllib's default form content type the server sees an empty body (HTTP 500).
        req = urllib.request.Request(
            f"{self.endpoint_url}/moto-api/reset-auth",
            data=count.encode(),
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return str(json.loads(resp.read())["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"])

    @contextlib.contextmanager
    def enforced(self) -> Iterator[None]:
        previous = self._reset_auth("0")
        try:
            yield
        finally:
            self._reset_auth(previous)


# --------------------------------------------------------------------------- the loopback server


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS reports free right now on ``host`` (the server binds it moments later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class MotoServer:
    """``serve`` in a child process on a loopback port; a context manager that always stops it.

    Only the process started here is stopped (by its own handle), never anything found by name.
    """

    def __init__(
        self, managed_arns: Iterable[str] = (), host: str = "127.0.0.1", port: int | None = None
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.managed_arns = sorted(set(managed_arns))
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 60.0) -> MotoServer:
        cmd = [
            sys.executable,
            "-m",
            "pipeline.emulator.moto_aws",
            "serve",
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]
        for arn in self.managed_arns:
            cmd += ["--managed-policy", arn]
        env = dict(os.environ)
        env.pop("INITIAL_NO_AUTH_ACTION_COUNT", None)  # start with authorization off; the matrix toggles it
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        # The log goes to a file: an unread pipe would fill up and stall the server.
        self._log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - must outlive this method (closed in stop)
            prefix="moto-server-", suffix=".log", delete=False
        )
        self.proc = subprocess.Popen(cmd, stdout=self._log_file, stderr=subprocess.STDOUT, env=env)
        try:
            self._wait_ready(timeout)
        except BaseException:  # not ready, or interrupted (Ctrl-C, SIGTERM) while waiting: stop it here
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise EmulatorError(
                    f"moto server exited early (rc {self.proc.returncode}): {self.log()[-2000:]}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise EmulatorError(f"moto server on {self.url} not ready after {timeout:.0f}s")

    def log(self) -> str:
        """The server's output so far (for error messages)."""
        return Path(self._log_file.name).read_text(errors="replace") if self._log_file else ""

    def stop(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            Path(self._log_file.name).unlink(missing_ok=True)
            self._log_file = None
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(argv: list[str] | None = None) -> None:
    """``moto_server`` with the pack's AWS-managed policy documents loaded (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.emulator.moto_aws serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--managed-policy", action="append", default=[], metavar="ARN")
    args = parser.parse_args(argv)
    data, sources = managed_policy_data(args.managed_policy)
    for arn, source in sources.items():
        print(f"managed policy {arn}: {source}", flush=True)
    from moto.server import main as moto_main

    with _patch_moto(data):
        moto_main(["-H", args.host, "-p", str(args.port)])


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2:])
    else:
        sys.exit(
            "usage: python -m pipeline.emulator.moto_aws serve"
            " [--host H] [--port P] [--managed-policy ARN ...]"
        )
