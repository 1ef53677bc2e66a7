"""`make local-up`: deploy the `local` stack with the real Pulumi CLI into moto, then prove it.

``python -m pipeline local-up [--stack local] [--keep-state]``

Why: the offline check and the in-process matrix never run the real CLI, the real AWS provider or the
real policy-pack plugin. This does, without an AWS account:

1. start the emulator (``python -m pipeline.emulator.moto_aws serve``: ``moto_server`` plus the pack's
   AWS-managed policy documents) on a free 127.0.0.1 port;
2. ``pulumi up --stack local --policy-pack policy-pack --policy-pack-config policy-pack/config/dev.json``
   with ``PULUMI_BACKEND_URL=file://<repo>/.state``, the passphrase from ``PULUMI_CONFIG_PASSPHRASE``, and
   ``--config-file`` pointing at ``.state/Pulumi.local.generated.yaml``: ``Pulumi.local.yaml`` with the
   chosen port in its endpoints and the stack's passphrase salt (kept in ``.state``, see ``create_stack``);
3. run the access matrix against the server on the roles the CLI deployed (``deploy=False``: the matrix
   creates only the buckets and its test user; it restores the roles' trust policies afterwards);
4. stop the emulator (always). Its state is in memory, so ``--refresh`` makes each ``pulumi up`` notice
   that the roles from a previous run are gone and create them again.

Exit codes: 0 deployed and no mismatch; 1 ``pulumi`` failed or the matrix found a mismatch; 2 the CLI or
the passphrase is missing, or the emulator could not start (the message says which).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pipeline import ROOT

ENDPOINT_RE = re.compile(r"http://127\.0\.0\.1:\d+")


def localized_config(text: str, endpoint: str) -> str:
    """The stack file with every loopback endpoint pointed at ``endpoint`` (the emulator's real port)."""
    return ENDPOINT_RE.sub(endpoint, text)


def pulumi_env(project_dir: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for the CLI: a local file backend under the repo, no cloud login, no update check."""
    env = dict(os.environ if base is None else base)
    env["PULUMI_BACKEND_URL"] = f"file://{project_dir / '.state'}"
    env.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
    # The provider must use only the stack's dummy keys and endpoints, never a developer's AWS profile.
    for var in (
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
    ):
        env.pop(var, None)
    return env


SALT_RE = re.compile(r"^encryptionsalt:.*$", re.MULTILINE)


def select_command(stack: str) -> list[str]:
    return ["pulumi", "stack", "select", "--create", "--stack", stack, "--non-interactive"]


def up_command(stack: str, config_file: Path, pack_config: Path) -> list[str]:
    """`pulumi up` with the pack, on the generated stack file (pure: a test reads it without the CLI)."""
    return [
        "pulumi",
        "up",
        "--stack",
        stack,
        "--config-file",
        str(config_file),
        "--policy-pack",
        "policy-pack",
        "--policy-pack-config",
        str(pack_config),
        "--refresh",
        "--yes",
        "--non-interactive",
    ]


def generated_config(template: str, endpoint: str, salt_line: str | None) -> str:
    """The stack file the CLI runs with: the template's endpoints on the emulator's port, plus the
    passphrase salt of the stack in ``.state`` (kept there, so the tracked template never changes)."""
    text = SALT_RE.sub("", localized_config(template, endpoint)).rstrip("\n") + "\n"
    return f"{salt_line}\n{text}" if salt_line else text


def create_stack(
    stack: str, stack_file: Path, salt_file: Path, project_dir: Path, env: Mapping[str, str]
) -> int:
    """`pulumi stack select --create`, without leaving a change in the tracked stack file.

    Creating a passphrase stack writes ``encryptionsalt:`` into ``Pulumi.<stack>.yaml``; that line belongs
    to the local state (another passphrase would not match it), so it is moved to ``.state`` and the
    tracked file is restored byte for byte.
    """
    original = stack_file.read_bytes()
    try:
        done = subprocess.run(select_command(stack), cwd=project_dir, env=dict(env), check=False)
        found = SALT_RE.search(stack_file.read_text())
        if found:
            salt_file.write_text(found.group(0) + "\n")
        return done.returncode
    finally:
        if stack_file.read_bytes() != original:
            stack_file.write_bytes(original)


def preflight(env: Mapping[str, str]) -> str | None:
    """Why local-up cannot run here, or None."""
    if shutil.which("pulumi", path=env.get("PATH")) is None:
        return (
            "the Pulumi CLI (`pulumi`) is not on PATH; install it (https://www.pulumi.com/docs/install/) "
            "to deploy the local stack. The emulator proof without the CLI: "
            "`python -m pipeline access-matrix --stack dev`."
        )
    if not env.get("PULUMI_CONFIG_PASSPHRASE") and not env.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        return (
            "PULUMI_CONFIG_PASSPHRASE is not set; the local file backend encrypts stack secrets with it. "
            "Any value works for the local stack, e.g. `PULUMI_CONFIG_PASSPHRASE=local make local-up`."
        )
    return None


def local_up(
    stack: str = "local", project_dir: Path = ROOT, pack_config: Path | None = None, out: Any = sys.stdout
) -> int:
    from pipeline.preview.packclient import pack_virtualenv_problem

    env = pulumi_env(project_dir)
    why = preflight(env) or pack_virtualenv_problem(project_dir / "policy-pack")
    if why:
        print(f"local-up: {why}", file=sys.stderr)
        return 2
    from pipeline.emulator.matrix import attached_managed_arns, render, run_matrix
    from pipeline.emulator.moto_aws import EmulatorError, MotoServer
    from pipeline.program import run_program

    stack_file = project_dir / f"Pulumi.{stack}.yaml"
    pack_config = pack_config or project_dir / "policy-pack/config/dev.json"
    run = run_program(stack, preview=False, project_dir=project_dir)  # also validates the config first
    (project_dir / ".state").mkdir(exist_ok=True)
    try:
        server = MotoServer(attached_managed_arns(run)).start()
    except EmulatorError as err:
        print(f"local-up: {err}", file=sys.stderr)
        return 2
    try:
        print(f"local-up: emulator at {server.url}", file=out, flush=True)
        state = project_dir / ".state"
        salt_file = state / f"Pulumi.{stack}.encryptionsalt"
        print("local-up: $ " + " ".join(select_command(stack)), file=out, flush=True)
        if create_stack(stack, stack_file, salt_file, project_dir, env) != 0:
            print("local-up: `pulumi stack select --create` failed", file=sys.stderr)
            return 1
        salt = salt_file.read_text().strip() if salt_file.is_file() else None
        config_file = state / f"Pulumi.{stack}.generated.yaml"
        config_file.write_text(generated_config(stack_file.read_text(), server.url, salt))
        cmd = up_command(stack, config_file, pack_config)
        print("local-up: $ " + " ".join(cmd), file=out, flush=True)
        done = subprocess.run(cmd, cwd=project_dir, env=env, check=False)
        if done.returncode != 0:
            print(f"local-up: `pulumi up` failed (exit {done.returncode})", file=sys.stderr)
            return 1
        result = run_matrix(stack, run=run, endpoint=server.url, deploy=False, project_dir=project_dir)
        print(render(result), file=out)
        return 0 if result.ok else 1
    finally:
        server.stop()
        print("local-up: emulator stopped", file=out, flush=True)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "local-up", help="pulumi up the local stack into moto, then run the access matrix"
    )
    p.add_argument(
        "--stack", default="local", help="stack whose file points at the emulator (default: local)"
    )
    p.add_argument(
        "--policy-pack-config",
        type=Path,
        default=None,
        help="pack config for the run (default: policy-pack/config/dev.json)",
    )
    return p


def run(args: argparse.Namespace) -> int:
    from pipeline.errors import ConfigurationError

    try:
        return local_up(args.stack, pack_config=args.policy_pack_config)
    except ConfigurationError as err:
        print(f"local-up: {err}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - convenience entry point
    parser = argparse.ArgumentParser(prog="python -m pipeline.emulator.local")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    return run(parser.parse_args(["local-up", *(argv or [])]))
