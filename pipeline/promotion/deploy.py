"""The online half of a promotion stage, on Pulumi's Automation API (``pulumi.automation``).

Why a separate module: the promotion flow (``pipeline.promotion.promote``) only talks to the small
``StageBackend`` protocol below, so its gating logic (order, commit gate, prod confirmation,
stop-on-violation) is tested with an in-memory fake, while ``AutomationBackend`` is the one place that
shells out to the ``pulumi`` CLI.

Facts this relies on (pulumi 3.272.0 ``pulumi/automation``):
* ``LocalWorkspace`` runs ``pulumi version`` when constructed; a missing CLI surfaces as
  ``FileNotFoundError``.
* ``Stack.preview/up(policy_packs=[...], policy_pack_configs=[...], on_event=...)`` map to
  ``--policy-pack``/``--policy-pack-config``; policy results arrive as ``EngineEvent.policy_event``.
  A mandatory violation makes the CLI exit non-zero, so the command raises ``CommandError`` *after*
  the events were delivered: those are turned back into a policy failure here, not an operational error.
* ``project_settings`` in ``LocalWorkspaceOptions`` rewrites ``Pulumi.yaml``: never passed.
* The deployed commit is recorded in the update message (stack history, kept by every backend) and as the
  stack tag ``promote-commit``. Pulumi Cloud keeps stack tags; self-managed (DIY: file://, s3://, ...)
  backends keep them since CLI 3.211.0 (December 2025, in ``.pulumi/stacks/<project>/<stack>.pulumi-tags``),
  and an older CLI refuses them as "not supported", in which case the message alone records the commit.
  The commit is read back from the latest successful update's message, so the gate works on every backend.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pipeline.errors import PipelineError

COMMIT_TAG = "promote-commit"
_MESSAGE_COMMIT = re.compile(r"\bat commit ([0-9A-Za-z._-]+)")
CANT_RUN_DURING_PREVIEW = "during preview"


class AutomationFailure(PipelineError):
    """An operational problem with Pulumi itself (not a policy verdict); rendered as one line, exit 2."""


@dataclass(frozen=True)
class PolicyViolation:
    """One policy diagnostic from the engine event stream."""

    policy: str
    pack: str
    level: str  # "mandatory" | "advisory" | "remediate" | "disabled" (as the engine reports it)
    message: str
    urn: str = ""

    @property
    def mandatory(self) -> bool:
        return self.level.lower() in ("mandatory", "remediate")

    @property
    def unverifiable_at_preview(self) -> bool:
        """The pack could not evaluate the policy because a value is unknown until deploy."""
        return "can't run policy" in self.message and CANT_RUN_DURING_PREVIEW in self.message

    def line(self) -> str:
        where = f" [{self.urn}]" if self.urn else ""
        first = self.message.strip().splitlines()[-1] if self.message.strip() else ""
        return f"{self.level} {self.policy}{where}: {first}"

    def to_dict(self) -> dict[str, str]:
        return {
            "policy": self.policy,
            "pack": self.pack,
            "level": self.level,
            "message": self.message,
            "urn": self.urn,
        }


@dataclass
class OperationOutcome:
    """Result of a preview or up: whether the CLI succeeded, and the policy events it reported."""

    succeeded: bool
    violations: list[PolicyViolation] = field(default_factory=list)
    changes: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class AnalyzeOutcome:
    """``pulumi policy analyze`` on the deployed state; ``supported`` False when the CLI lacks it."""

    supported: bool
    succeeded: bool = True
    detail: str = ""


class StageBackend(Protocol):
    """What the promotion flow needs from a Pulumi backend (real: AutomationBackend; tests: a fake)."""

    def preview(self, stack: str, *, pack_dir: Path, pack_config: Path) -> OperationOutcome: ...

    def up(self, stack: str, *, pack_dir: Path, pack_config: Path, commit: str) -> OperationOutcome: ...

    def outputs(self, stack: str) -> dict[str, Any]: ...

    def policy_analyze(self, stack: str, *, pack_dir: Path, pack_config: Path) -> AnalyzeOutcome: ...

    def record_commit(self, stack: str, commit: str) -> str: ...

    def deployed_commit(self, stack: str) -> str | None: ...


def update_message(stack: str, commit: str) -> str:
    """The update message that records the deployed commit in the stack's history."""
    return f"promote {stack} at commit {commit}"


def commit_from_message(message: str | None) -> str | None:
    match = _MESSAGE_COMMIT.search(message or "")
    return match.group(1) if match else None


# --- error classification ------------------------------------------------------------------------------


def _first_error_line(text: str) -> str:
    """The most useful single line of CLI output: the first 'error:' line, else the last non-empty one.

    ``str(CommandError)`` is "code: N / stdout: ... / stderr: ..."; the CLI's diagnosis is in stderr,
    so that is searched first, then stdout.
    """
    head, sep, stderr = text.partition("\n stderr: ")
    stdout = head.partition(" stdout: ")[2] if sep else text
    parts = [stderr, stdout] if sep else [text]
    for part in parts:
        for ln in part.splitlines():
            at = ln.lower().find("error:")
            if at != -1 and ln[at + len("error:") :].strip():
                return ln[at + len("error:") :].strip()
    for part in parts:
        lines = [ln.strip() for ln in part.splitlines() if ln.strip()]
        if lines:
            return lines[-1]
    return "(no output)"


def classify_error(
    exc: BaseException, *, stack: str | None = None, backend_url: str | None = None
) -> str | None:
    """One clear line for an Automation API failure, or None when ``exc`` is not one.

    Checked against ``pulumi.automation.errors``: the CLI's stderr is matched there into StackNotFoundError,
    ConcurrentUpdateError (both Pulumi Cloud's 409 and the DIY backend's lock file) and so on.
    """
    from pulumi.automation import errors as auto_errors

    where = f"stack '{stack}'" if stack else "the stack"
    backend = backend_url or "the current backend (PULUMI_BACKEND_URL or `pulumi login`)"
    if isinstance(exc, FileNotFoundError) and (exc.filename in (None, "pulumi") or "pulumi" in str(exc)):
        return (
            "the Pulumi CLI was not found on PATH; install it (https://www.pulumi.com/docs/install/) "
            "or run with --offline"
        )
    if type(exc) is RuntimeError and "summary event never found" in str(exc):
        return f"pulumi ended {where}'s operation without a summary (the CLI's event stream broke off)"
    if isinstance(exc, auto_errors.InvalidVersionError):
        return f"the installed Pulumi CLI is not usable by the Automation API: {exc}"
    if isinstance(exc, auto_errors.StackNotFoundError):
        return (
            f"{where} does not exist in {backend}; create it with `pulumi stack init` or pass --create-stacks"
        )
    if isinstance(exc, auto_errors.ConcurrentUpdateError):
        return (
            f"{where} is locked by another update in progress; wait for it to finish "
            "(if it died, clear the lock with `pulumi cancel`)"
        )
    if isinstance(exc, auto_errors.CommandError):
        text = str(exc)
        if "PULUMI_CONFIG_PASSPHRASE" in text and "passphrase must be set" in text:
            return (
                f"{where} encrypts secrets with a passphrase: set PULUMI_CONFIG_PASSPHRASE "
                "or PULUMI_CONFIG_PASSPHRASE_FILE"
            )
        if "incorrect passphrase" in text or "failed to decrypt" in text:
            return f"{where}: the passphrase in PULUMI_CONFIG_PASSPHRASE does not decrypt its secrets"
        if "no Pulumi.yaml project file found" in text:
            return f"no Pulumi.yaml project found for {where} (wrong --project-dir?)"
        if "PULUMI_ACCESS_TOKEN" in text or "pulumi login" in text:
            return f"not logged in to {backend}: run `pulumi login` or pass --backend-url"
        return f"pulumi failed for {where}: {_first_error_line(text)}"
    return None


# --- the real backend ----------------------------------------------------------------------------------


def cli_available() -> bool:
    return shutil.which("pulumi") is not None


def _policy_violation(event: Any) -> PolicyViolation | None:
    pe = getattr(event, "policy_event", None)
    if pe is None:
        return None
    return PolicyViolation(
        policy=str(getattr(pe, "policy_name", "") or ""),
        pack=str(getattr(pe, "policy_pack_name", "") or ""),
        level=str(getattr(pe, "enforcement_level", "") or ""),
        message=str(getattr(pe, "message", "") or ""),
        urn=str(getattr(pe, "resource_urn", "") or ""),
    )


def _plain_outputs(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """OutputMap (name -> OutputValue(value, secret)) to plain values."""
    return {k: getattr(v, "value", v) for k, v in outputs.items()}


class AutomationBackend:
    """StageBackend over ``pulumi.automation.LocalWorkspace`` for the project directory (local program).

    ``env`` is passed to every CLI call (e.g. PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE for a test);
    ``stack_files`` maps a stack to an alternative config file (``--config-file``), as the offline check
    accepts ``stack_file``.
    """

    def __init__(
        self,
        project_dir: Path,
        *,
        backend_url: str | None = None,
        env: Mapping[str, str] | None = None,
        stack_files: Mapping[str, Path] | None = None,
        create_stacks: bool = False,
        secrets_provider: str | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.project_dir = project_dir.resolve()
        self.backend_url = backend_url
        self.env = dict(env or {})
        if backend_url:
            self.env["PULUMI_BACKEND_URL"] = backend_url
        self.stack_files = {k: v.resolve() for k, v in (stack_files or {}).items()}
        self.create_stacks = create_stacks
        self.secrets_provider = secrets_provider
        self.log = log or (lambda _line: None)
        self._stacks: dict[str, Any] = {}
        self._workspace: Any = None

    # Workspace and stacks are created lazily so that constructing the backend never needs the CLI.
    def _ws(self) -> Any:
        if self._workspace is None:
            from pulumi import automation as auto

            self._workspace = auto.LocalWorkspace(
                work_dir=str(self.project_dir), env_vars=self.env, secrets_provider=self.secrets_provider
            )
        return self._workspace

    def _stack(self, name: str) -> Any:
        if name not in self._stacks:
            from pulumi import automation as auto

            ws = self._ws()
            init = auto.Stack.create_or_select if self.create_stacks else auto.Stack.select
            self._stacks[name] = init(name, ws)
        return self._stacks[name]

    def _config_file(self, stack: str) -> str | None:
        path = self.stack_files.get(stack)
        return str(path) if path else None

    def _run(self, op: str, stack: str, pack_dir: Path, pack_config: Path, **kwargs: Any) -> OperationOutcome:
        from pulumi.automation import errors as auto_errors

        violations: list[PolicyViolation] = []

        def on_event(event: Any) -> None:
            v = _policy_violation(event)
            if v is not None:
                violations.append(v)

        st = self._stack(stack)
        try:
            result = getattr(st, op)(
                policy_packs=[str(pack_dir.resolve())],
                policy_pack_configs=[str(pack_config.resolve())],
                on_event=on_event,
                on_output=self.log,
                color="never",
                config_file=self._config_file(stack),
                **kwargs,
            )
        except auto_errors.CommandError as exc:
            # A mandatory violation fails the command: report it as a policy verdict when events say so.
            if any(v.mandatory for v in violations):
                return OperationOutcome(False, violations, error=_first_error_line(str(exc)))
            raise
        if op == "preview":
            changes = {str(k): int(v) for k, v in (result.change_summary or {}).items()}
            return OperationOutcome(True, violations, changes=changes)
        summary = getattr(result, "summary", None)
        changes = {str(k): int(v) for k, v in (getattr(summary, "resource_changes", None) or {}).items()}
        return OperationOutcome(True, violations, changes=changes, outputs=_plain_outputs(result.outputs))

    def preview(self, stack: str, *, pack_dir: Path, pack_config: Path) -> OperationOutcome:
        return self._run("preview", stack, pack_dir, pack_config)

    def up(self, stack: str, *, pack_dir: Path, pack_config: Path, commit: str) -> OperationOutcome:
        return self._run("up", stack, pack_dir, pack_config, message=update_message(stack, commit))

    def outputs(self, stack: str) -> dict[str, Any]:
        return _plain_outputs(self._stack(stack).outputs())

    def policy_analyze(self, stack: str, *, pack_dir: Path, pack_config: Path) -> AnalyzeOutcome:
        """``pulumi policy analyze`` on the deployed state (CLI >= 3.229); probed via ``--help``."""
        from pulumi.automation import errors as auto_errors

        ws = self._ws()
        cmd = ws.pulumi_command
        unsupported = AnalyzeOutcome(supported=False, detail="this Pulumi CLI has no `pulumi policy analyze`")
        try:
            probe = cmd.run(["policy", "analyze", "--help"], str(self.project_dir), self.env)
        except auto_errors.CommandError:
            return unsupported
        # An unknown subcommand with --help makes cobra print the parent's help and exit 0.
        if "policy analyze" not in probe.stdout:
            return unsupported
        args = [
            "policy", "analyze", "--stack", stack,
            "--policy-pack", str(pack_dir.resolve()),
            "--policy-pack-config", str(pack_config.resolve()),
        ]  # fmt: skip
        try:
            result = cmd.run(args, str(self.project_dir), self.env)
        except auto_errors.CommandError as exc:
            text = str(exc)
            if "unknown command" in text or "unknown flag" in text:
                return AnalyzeOutcome(supported=False, detail=_first_error_line(text))
            return AnalyzeOutcome(supported=True, succeeded=False, detail=_first_error_line(text))
        return AnalyzeOutcome(supported=True, succeeded=True, detail=_first_error_line(result.stdout or "ok"))

    def record_commit(self, stack: str, commit: str) -> str:
        """The update message already holds the commit; add the stack tag where the backend keeps tags."""
        from pulumi.automation import errors as auto_errors

        try:
            self._stack(stack).set_tag(COMMIT_TAG, commit)
        except auto_errors.CommandError as exc:
            if "not supported" in str(exc):
                return "update message (no stack tags here: DIY backends keep them from CLI 3.211)"
            raise
        return f"update message and stack tag {COMMIT_TAG}"

    def deployed_commit(self, stack: str) -> str | None:
        """Commit of the latest successful update; None if never deployed or changed outside a promotion."""
        for summary in self._stack(stack).history(page_size=10, show_secrets=False):
            if summary.kind in ("preview", "refresh") or summary.result == "in-progress":
                continue  # neither changes what is deployed
            if summary.kind != "update" or summary.result != "succeeded":
                return None  # destroyed, failed or another kind of change since the last promotion
            return commit_from_message(summary.message)
        return None
