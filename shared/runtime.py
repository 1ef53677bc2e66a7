"""The two places the program touches the Pulumi runtime before building anything: reading the stack's
raw config, and the wrong-account guard.

Wrong-account guard — when it runs: only on a real deployment (the update phase of ``pulumi up``).
``pulumi up`` runs the program twice (preview, then update); the update run raises before a single
resource is registered, so nothing is ever created in the wrong account. It is deliberately not run
during ``pulumi preview``: a preview changes nothing, and the offline check (mocked runtime, no
credentials) must be able to preview every stack. The comparison itself is the pure ``check_account``.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi.runtime import config as runtime_config

from shared.config import StackConfig, parse_stack_config


class WrongAccountError(RuntimeError):
    """The credentials in use belong to another AWS account than the stack's ``accountId``."""


def raw_config() -> dict[str, Any]:
    """Every config value the runtime knows: the engine's ``PULUMI_CONFIG`` bag plus values set in-process
    (mocks, ``set_all_config``). Unknown-key detection needs the full key set, not single look-ups."""
    raw: dict[str, Any] = dict(runtime_config.get_config_env())
    raw.update(runtime_config.CONFIG.get())
    return raw


def load_stack_config() -> StackConfig:
    """Validate this stack's config; raises ``shared.config.ConfigError`` before any resource exists."""
    return parse_stack_config(raw_config(), stack=pulumi.get_stack(), project=pulumi.get_project())


def check_account(expected: str, actual: str, *, stack: str, source: str, key: str) -> None:
    """Refuse to continue when the caller's account is not the stack's account."""
    if actual != expected:
        raise WrongAccountError(
            f"refusing to deploy stack {stack!r}: the AWS credentials in use belong to account {actual}, "
            f"but {source} sets {key} to {expected}. "
            "Switch credentials (AWS_PROFILE / aws:profile) to that account, or fix accountId."
        )


def ensure_deploy_account(cfg: StackConfig) -> None:
    """On a real deployment, compare ``aws.get_caller_identity()`` with ``cfg.account_id``."""
    if pulumi.runtime.is_dry_run():
        return
    identity = aws.get_caller_identity()
    check_account(
        cfg.account_id,
        str(identity.account_id),
        stack=cfg.stack,
        source=cfg.source,
        key=f"{cfg.project}:accountId",
    )
