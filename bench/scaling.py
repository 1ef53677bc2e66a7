"""Scales a synthetic stack (10 -> 100 -> 1,000 roles, several datasets each) through the offline check.

The stack file is generated into a temporary copy of the project (program, shared package, pack and
Pulumi.yaml; no venvs, no git), so the real stacks and the repo are never touched. The time per role
should stay flat (linear growth); `linearity` reports seconds-per-role at each size relative to the
smallest.
"""

from __future__ import annotations

import inspect
import json
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "ai-data-processing"
ACCOUNT = "111111111111"
BUCKETS = ("raw", "features", "models", "curated", "labels", "embeddings", "eval", "logs")
LEVELS = ("read", "write", "read-write")
TRUSTED = (
    ["ec2.amazonaws.com"],
    ["sagemaker.amazonaws.com"],
    ["batch.amazonaws.com"],
    ["ecs-tasks.amazonaws.com"],
)
AI_ACTIONS = ([], ["comprehend:BatchDetectEntities"], [], ["comprehend:DetectSentiment"])
COPY_IGNORE = shutil.ignore_patterns(
    ".venv*",
    "venv",
    ".git",
    "out",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    ".ruff_cache",
    "*.egg-info",
    ".state",
    "tests",
)


def synthetic_config(roles: int, stack: str) -> dict[str, Any]:
    """A valid stack config with `roles` roles, each reading/writing 3-4 of 8 datasets under prefixes."""
    suffix = stack.lower()
    buckets: dict[str, Any] = {b: {"name": f"acme-ml-{b}-{suffix}"} for b in BUCKETS}
    buckets["features"]["kmsKeyArn"] = (
        f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/0f6e2f0c-5d7e-4f43-9b41-5a0c1e7f8a11"
    )
    role_list = []
    for i in range(roles):
        access = [
            {
                "bucket": BUCKETS[(i + k) % len(BUCKETS)],
                "level": LEVELS[(i + k) % len(LEVELS)],
                "prefixes": [f"team-{i % 17}/", f"job-{i}/"],
            }
            for k in range(3 + i % 2)
        ]
        role_list.append(
            {
                "name": f"worker-{i:04d}",
                "trustedServices": TRUSTED[i % len(TRUSTED)],
                "access": access,
                "aiActions": AI_ACTIONS[i % len(AI_ACTIONS)],
                "managedPolicyArns": [],
            }
        )
    return {
        "config": {
            "aws:region": "eu-west-1",
            f"{PROJECT}:accountId": ACCOUNT,
            f"{PROJECT}:buckets": buckets,
            f"{PROJECT}:roles": role_list,
            f"{PROJECT}:tags": {"team": "ml-platform", "purpose": "bench"},
        }
    }


def copy_project(dest: Path) -> Path:
    """Copy what the offline check needs (program, packages, pack, Pulumi.yaml) into `dest`; the pack's
    venv is linked, not copied."""
    dest.mkdir(parents=True, exist_ok=True)
    for item in ROOT.iterdir():
        if item.name in {"stacks", "shared", "pipeline", "policy-pack"}:
            shutil.copytree(item, dest / item.name, ignore=COPY_IGNORE)
        elif item.is_file() and item.name.startswith("Pulumi.") and item.suffix == ".yaml":
            shutil.copy2(item, dest / item.name)
    pack_venv = ROOT / "policy-pack" / "venv"
    if pack_venv.is_dir():  # the pack runs in its own venv, as the CLI runs it (built by `make setup`)
        (dest / "policy-pack" / "venv").symlink_to(pack_venv, target_is_directory=True)
    return dest


def _run_check(stack: str, project_dir: Path, stack_file: Path) -> Any:
    """Call pipeline.preview.check.check_stack with whichever of project_dir/stack_file it accepts."""
    from pipeline.preview.check import check_stack

    params = inspect.signature(check_stack).parameters
    kwargs: dict[str, Any] = {}
    if "project_dir" in params:
        kwargs["project_dir"] = project_dir
    if "stack_file" in params:
        kwargs["stack_file"] = stack_file
    if not kwargs:
        raise RuntimeError("pipeline.preview.check.check_stack accepts neither project_dir nor stack_file")
    return check_stack(stack, **kwargs)


def config_env_bytes(config: dict[str, Any]) -> int:
    """Size of PULUMI_CONFIG as the pack is started with it (objects JSON-encoded, as the CLI does)."""
    flat = {k: v if isinstance(v, str) else json.dumps(v) for k, v in config["config"].items()}
    return len(json.dumps(flat).encode())


def scale(sizes: Sequence[int] = (10, 100, 250, 1000)) -> dict[str, Any]:
    """Wall seconds of the offline check per size, with per-role cost and the linearity ratio.

    A size that cannot be checked is recorded with its error and config size rather than aborting the
    run: the pack receives the stack config in the PULUMI_CONFIG environment variable (as from the CLI),
    and Linux caps one environment string at 128 KiB (MAX_ARG_STRLEN), about 270 roles of this shape.
    """
    seconds: dict[int, float | None] = {}
    details: dict[int, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmp:
        project = copy_project(Path(tmp) / "project")
        for n in sizes:
            stack = f"scale{n}"
            stack_file = project / f"Pulumi.{stack}.yaml"
            config = synthetic_config(n, stack)
            shutil.copy2(
                project / "policy-pack" / "config" / "dev.json",
                project / "policy-pack" / "config" / f"{stack}.json",
            )
            stack_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
            details[n] = {"config_env_bytes": config_env_bytes(config)}
            t0 = time.perf_counter()
            try:
                report = _run_check(stack, project, stack_file)
            except Exception as exc:
                seconds[n] = None
                details[n]["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
                continue
            seconds[n] = round(time.perf_counter() - t0, 3)
            details[n] |= {
                "violations": len(getattr(report, "violations", []) or []),
                "blocking": len(getattr(report, "mandatory_failures", []) or []),
            }
    done = {n: v for n, v in seconds.items() if v}
    base = min(done) if done else None
    per_role = {n: v / n for n, v in done.items()}
    return {
        "seconds": seconds,
        "per_role_ms": {n: round(v * 1000, 2) for n, v in per_role.items()},
        "linearity": {n: round(per_role[n] / per_role[base], 2) for n in done} if base else {},
        "details": details,
    }
