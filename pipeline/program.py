"""Run the Pulumi program under the mock runtime and record what the engine would see.

`pulumi preview` hands the policy pack each resource's *inputs* as the engine received them from the
language SDK (camelCase names, unknown values as sentinel strings, integers as floats) and, for stack
policies, the resources' outputs with parent and dependency links. Pulumi's mock monitor receives the
very same `RegisterResourceRequest`s, so a recording monitor captures that wire form exactly; this
module adds the engine's side of the bargain:

* preview mode: outputs the provider computes (ARNs, ids, unique ids) are unknown, as on a first
  `pulumi preview`; update mode: they are synthesised the way AWS would return them;
* engine-faithful URNs (the stock mock prefixes top-level types with the Stack type and keeps only the
  last segment of a parent chain, the engine does neither);
* provider-side `Check` defaults and autonaming, so the pack sees `name`, `path`... as with the CLI;
* the `getCallerIdentity` invoke answered with the stack's account id (or `caller_account`, to
  exercise the program's wrong-account guard); every invoke is recorded in `ProgramRun.invokes`.

When the program fails, `run_program` raises `ProgramError` (or `ConfigurationError` for the program's
own config validation) with the program's exception as `__cause__` and what was recorded up to the
failure as `.run`, so a caller can tell that nothing was registered and no AWS call was made.

Each run happens in a fresh `contextvars` context with its own settings, config, root Stack and event
loop (the way the Automation API's inline server isolates runs), so several stacks and both modes
can run one after another in one process while `pulumi_aws` is imported only once.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import importlib.metadata
import logging
import runpy
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pipeline import ROOT
from pipeline.errors import ConfigurationError, PipelineError, ProgramError
from pipeline.recording import STACK_TYPE, UNKNOWN, ProgramRun, RecordedResource
from pipeline.stackconfig import load_project, load_stack_config

# --------------------------------------------------------------------------------------------------
# What the AWS provider would compute


def _short_hash(*parts: str, length: int = 7) -> str:
    """A stable pseudo-random suffix, so repeated runs give identical names and ids."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:length]


def _aws_unique_id(prefix: str, urn: str) -> str:
    return prefix + _short_hash(urn, length=17).upper()


# Provider Check defaults the engine's inputs carry (tfbridge fills schema defaults before Analyze).
_CHECK_DEFAULTS: dict[str, dict[str, Any]] = {
    "aws:iam/role:Role": {"path": "/", "maxSessionDuration": 3600.0, "forceDetachPolicies": False},
    "aws:iam/policy:Policy": {"path": "/"},
    "aws:iam/instanceProfile:InstanceProfile": {"path": "/"},
    "aws:iam/user:User": {"path": "/", "forceDestroy": False},
}
# Types whose physical name the provider autonames from the logical name when `name` is not given.
_AUTONAMED: dict[str, str] = {
    "aws:iam/role:Role": "name",
    "aws:iam/policy:Policy": "name",
    "aws:iam/instanceProfile:InstanceProfile": "name",
    "aws:iam/user:User": "name",
    "aws:s3/bucket:Bucket": "bucket",
    "aws:s3/bucketV2:BucketV2": "bucket",
}


def provider_check(type_: str, name: str, urn: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs after the provider's Check: schema defaults and autonaming added (never removed)."""
    checked = dict(inputs)
    for key, value in _CHECK_DEFAULTS.get(type_, {}).items():
        checked.setdefault(key, value)
    name_key = _AUTONAMED.get(type_)
    if name_key and name_key not in checked and "namePrefix" not in checked:
        checked[name_key] = f"{name}-{_short_hash(urn)}"
    elif name_key and name_key not in checked:
        checked[name_key] = f"{checked['namePrefix']}{_short_hash(urn, length=26)}"
    return checked


def _known_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value != UNKNOWN else None


def computed_outputs(
    type_: str, urn: str, inputs: Mapping[str, Any], account: str, region: str
) -> dict[str, Any]:
    """Outputs AWS would return beyond the inputs, and the physical id (under key "id")."""
    path = _known_str(inputs.get("path")) or "/"
    name = _known_str(inputs.get("name")) or ""
    out: dict[str, Any] = {}
    if type_ == "aws:iam/role:Role":
        out = {
            "id": name,
            "arn": f"arn:aws:iam::{account}:role{path}{name}",
            "uniqueId": _aws_unique_id("AROA", urn),
            "createDate": "2026-01-01T00:00:00Z",
        }
    elif type_ == "aws:iam/policy:Policy":
        arn = f"arn:aws:iam::{account}:policy{path}{name}"
        out = {"id": arn, "arn": arn, "policyId": _aws_unique_id("ANPA", urn), "attachmentCount": 1.0}
    elif type_ == "aws:iam/instanceProfile:InstanceProfile":
        out = {
            "id": name,
            "arn": f"arn:aws:iam::{account}:instance-profile{path}{name}",
            "uniqueId": _aws_unique_id("AIPA", urn),
            "createDate": "2026-01-01T00:00:00Z",
        }
    elif type_ == "aws:iam/user:User":
        out = {
            "id": name,
            "arn": f"arn:aws:iam::{account}:user{path}{name}",
            "uniqueId": _aws_unique_id("AIDA", urn),
        }
    elif type_ == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
        role = _known_str(inputs.get("role")) or "role"
        out = {"id": f"{role}-{_short_hash(urn, length=26)}"}
    elif type_ == "aws:iam/rolePolicy:RolePolicy":
        role = _known_str(inputs.get("role")) or "role"
        out = {"id": f"{role}:{name}"}
    elif type_ in ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"):
        bucket = _known_str(inputs.get("bucket")) or ""
        out = {
            "id": bucket,
            "arn": f"arn:aws:s3:::{bucket}",
            "region": region,
            "bucketDomainName": f"{bucket}.s3.amazonaws.com",
        }
    elif type_ == "aws:kms/key:Key":
        key_id = f"{_short_hash(urn, length=8)}-0000-4000-8000-{_short_hash(urn, 'k', length=12)}"
        out = {"id": key_id, "keyId": key_id, "arn": f"arn:aws:kms:{region}:{account}:key/{key_id}"}
    else:
        out = {"id": f"{urn.rsplit('::', 1)[-1]}-{_short_hash(urn)}"}
    if "tags" in inputs and "tagsAll" not in inputs:
        out["tagsAll"] = inputs["tags"]
    return out


def default_provider(stack: str, project: str, config: Mapping[str, str]) -> RecordedResource:
    """The engine's default `aws` provider resource (inputs are the `aws:*` stack config)."""
    version = importlib.metadata.version("pulumi-aws")
    name = f"default_{version.replace('.', '_')}"
    urn = f"urn:pulumi:{stack}::{project}::pulumi:providers:aws::{name}"
    inputs: dict[str, Any] = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("aws:")}
    inputs["version"] = version
    return RecordedResource(
        type="pulumi:providers:aws",
        name=name,
        urn=urn,
        custom=True,
        parent=None,
        inputs=inputs,
        outputs=dict(inputs),
        id=_short_hash(urn, length=36),
    )


# --------------------------------------------------------------------------------------------------
# The recording monitor


def _struct_to_dict(struct: Any) -> dict[str, Any]:
    from google.protobuf import json_format

    return json_format.MessageToDict(struct) if struct is not None else {}


def _dict_to_struct(data: Mapping[str, Any]) -> Any:
    from google.protobuf import struct_pb2

    struct = struct_pb2.Struct()
    struct.update(dict(data))
    return struct


def engine_urn(stack: str, project: str, parent: str, type_: str, name: str) -> str:
    """The URN the engine assigns: parent's full qualified type chain, but never the Stack's type."""
    qualified = type_
    if parent:
        parent_type = parent.split("::")[2]
        if parent_type != STACK_TYPE:
            qualified = f"{parent_type}${type_}"
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


def _make_monitor_class() -> type:
    """Build the MockMonitor subclass lazily, so importing this module does not import pulumi."""
    from google.protobuf import empty_pb2
    from pulumi.runtime.mocks import MockMonitor
    from pulumi.runtime.proto import resource_pb2

    class RecordingMonitor(MockMonitor):  # type: ignore[misc]
        """A mock monitor that keeps every RegisterResourceRequest in the engine's wire form."""

        def __init__(
            self,
            mocks: Any,
            *,
            stack: str,
            project: str,
            preview: bool,
            account: str,
            region: str,
            provider: RecordedResource,
        ) -> None:
            super().__init__(mocks)
            self.stack_name = stack
            self.project_name = project
            self.preview = preview
            self.account = account
            self.region = region
            self.default_provider = provider
            self.recorded: list[RecordedResource] = []
            self.by_urn: dict[str, RecordedResource] = {}
            self.stack_outputs: dict[str, Any] = {}
            self.stack_urn = ""
            self._lock = threading.Lock()

        def make_urn(self, parent: str, type_: str, name: str) -> str:
            return engine_urn(self.stack_name, self.project_name, parent, type_, name)

        def RegisterResource(self, request: Any) -> Any:
            urn = self.make_urn(request.parent, request.type, request.name)
            raw_inputs = _struct_to_dict(request.object)
            inputs = (
                provider_check(request.type, request.name, urn, raw_inputs) if request.custom else raw_inputs
            )
            record = RecordedResource(
                type=request.type,
                name=request.name,
                urn=urn,
                custom=bool(request.custom),
                parent=request.parent or None,
                inputs=inputs,
                dependencies=list(request.dependencies),
                property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
                provider=(request.provider or self.default_provider.urn) if request.custom else None,
                options=_options(request),
            )
            response_object: dict[str, Any] = {}
            resource_id = ""
            if request.type == STACK_TYPE:
                self.stack_urn = urn
            elif request.custom:
                computed = computed_outputs(request.type, urn, inputs, self.account, self.region)
                known_id = str(computed.pop("id", ""))
                resource_id = "" if self.preview else known_id
                extra = {k: (UNKNOWN if self.preview else v) for k, v in computed.items() if k not in inputs}
                response_object = {**inputs, **extra}
                record.outputs = response_object
                record.id = resource_id
                self.resources[urn] = MockMonitor.ResourceRegistration(urn, resource_id, response_object)
            with self._lock:
                self.recorded.append(record)
                self.by_urn[urn] = record
            return resource_pb2.RegisterResourceResponse(
                urn=urn, id=resource_id, object=_dict_to_struct(response_object)
            )

        def RegisterResourceOutputs(self, request: Any) -> Any:
            outputs = _struct_to_dict(request.outputs)
            with self._lock:
                if request.urn == self.stack_urn:
                    self.stack_outputs = outputs
                record = self.by_urn.get(request.urn)
                if record is not None and not record.custom:
                    record.outputs = outputs
            return empty_pb2.Empty()

    return RecordingMonitor


def _options(request: Any) -> dict[str, Any]:
    """The resource options the analyzer request carries (AnalyzerResourceOptions)."""
    options: dict[str, Any] = {"protect": bool(request.protect)}
    if request.ignoreChanges:
        options["ignoreChanges"] = list(request.ignoreChanges)
    if request.deleteBeforeReplaceDefined:
        options["deleteBeforeReplace"] = bool(request.deleteBeforeReplace)
    if request.additionalSecretOutputs:
        options["additionalSecretOutputs"] = list(request.additionalSecretOutputs)
    if request.aliasURNs:
        options["aliases"] = list(request.aliasURNs)
    if request.HasField("customTimeouts"):
        options["customTimeouts"] = {
            "create": request.customTimeouts.create,
            "update": request.customTimeouts.update,
            "delete": request.customTimeouts.delete,
        }
    return options


_MONITOR_CLASS: type | None = None


def _monitor_class() -> type:
    global _MONITOR_CLASS
    if _MONITOR_CLASS is None:
        _MONITOR_CLASS = _make_monitor_class()
    return _MONITOR_CLASS


def _make_mocks(account: str, region: str) -> Any:
    """Mocks answering the invokes the program may make (recorded in `.invokes`); anything else is a
    clear error. `account` is what `getCallerIdentity` answers."""
    from pulumi.runtime.mocks import Mocks

    class OfflineMocks(Mocks):  # type: ignore[misc]
        def __init__(self) -> None:
            self.invokes: list[tuple[str, dict[str, Any]]] = []

        def call(self, args: Any) -> Any:
            token = args.token
            self.invokes.append((token, dict(args.args)))
            if token == "aws:index/getCallerIdentity:getCallerIdentity":
                return {
                    "accountId": account,
                    "arn": f"arn:aws:iam::{account}:user/offline-check",
                    "userId": "AIDAOFFLINECHECK",
                    "id": account,
                }
            if token == "aws:index/getRegion:getRegion":
                return {
                    "name": region,
                    "region": region,
                    "id": region,
                    "endpoint": f"ec2.{region}.amazonaws.com",
                    "description": region,
                }
            if token == "aws:index/getPartition:getPartition":
                return {
                    "partition": "aws",
                    "dnsSuffix": "amazonaws.com",
                    "id": "aws",
                    "reverseDnsPrefix": "com.amazonaws",
                }
            raise ProgramError(f"the offline check has no answer for the invoke '{token}'")

        def new_resource(self, args: Any) -> Any:  # only reached by `Resource.get` (ReadResource)
            return args.resource_id or f"{args.name}-id", dict(args.inputs)

    return OfflineMocks()


# --------------------------------------------------------------------------------------------------
# Running


class _LogCollector(logging.Handler):
    """Collects what the program logs through `pulumi.log` (warnings/errors end up in the report)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.levelname.lower()}: {record.getMessage()}")


_RUN_LOCK = threading.Lock()


def _is_config_error(exc: BaseException) -> bool:
    """Configuration problems the program reports (ours, pulumi's, or the project's own classes)."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(
        names
        & {"ConfigMissingError", "ConfigTypeError", "ConfigurationError", "ConfigError", "StackConfigError"}
    ) or any(n.endswith("ConfigError") for n in names)


def _describe(exc: BaseException) -> str:
    """`Type: message (file:line)` of the innermost frame in project code, no traceback."""
    where = ""
    tb = exc.__traceback__
    while tb is not None:
        if not tb.tb_frame.f_code.co_filename.startswith(sys.prefix):
            where = f" ({tb.tb_frame.f_code.co_filename}:{tb.tb_lineno})"
        tb = tb.tb_next
    return f"{type(exc).__name__}: {exc}{where}"


def run_program(
    stack: str,
    *,
    preview: bool,
    project_dir: Path = ROOT,
    stack_file: Path | None = None,
    config: Mapping[str, str] | None = None,
    program_dir: Path | None = None,
    caller_account: str | None = None,
) -> ProgramRun:
    """Run the project's program for one stack under the mocks and return what it registered.

    `config` (the output of `load_stack_config`) may be passed to avoid re-reading the stack file;
    `program_dir` overrides `Pulumi.yaml`'s `main` (tests use small fixture programs);
    `caller_account` is the account `getCallerIdentity` answers (default: the stack's `accountId`).

    Raises `ProgramError`/`ConfigurationError` when the program fails; the error's `run` holds what was
    recorded before the failure and its `__cause__` is the program's own exception.
    """
    project = load_project(project_dir)
    cfg = dict(config) if config is not None else load_stack_config(project_dir, stack, stack_file)
    main = Path(program_dir) if program_dir is not None else project.main
    if not (main / "__main__.py").is_file() and not main.is_file():
        raise ProgramError(f"program not found: {main} (no __main__.py)")
    account = cfg.get(f"{project.name}:accountId", "123456789012")
    region = cfg.get("aws:region", "us-east-1")
    provider = default_provider(stack, project.name, cfg)
    monitor = _monitor_class()(
        _make_mocks(caller_account if caller_account is not None else account, region),
        stack=stack,
        project=project.name,
        preview=preview,
        account=account,
        region=region,
        provider=provider,
    )
    collector = _LogCollector()
    with _RUN_LOCK:  # the runtime's module-level state is per context, but sys.modules/sys.path are not
        ctx = contextvars.copy_context()
        try:
            ctx.run(
                _run_isolated, project.name, stack, preview, cfg, main, Path(project_dir), monitor, collector
            )
        except PipelineError as err:
            err.run = _recorded_run(stack, preview, project.name, cfg, monitor, provider, collector)
            raise
    return _recorded_run(stack, preview, project.name, cfg, monitor, provider, collector)


def _recorded_run(
    stack: str,
    preview: bool,
    project: str,
    config: dict[str, str],
    monitor: Any,
    provider: RecordedResource,
    collector: _LogCollector,
) -> ProgramRun:
    """What the monitor recorded, with the default provider and the stack outputs filled in."""
    resources: list[RecordedResource] = list(monitor.recorded)
    if any(r.custom and r.type.startswith("aws:") and r.provider == provider.urn for r in resources):
        resources.insert(1 if resources and resources[0].type == STACK_TYPE else 0, provider)
    stack_record = next((r for r in resources if r.type == STACK_TYPE), None)
    if stack_record is not None:
        stack_record.outputs = dict(monitor.stack_outputs)
    return ProgramRun(
        stack=stack,
        preview=preview,
        project=project,
        resources=resources,
        outputs=dict(monitor.stack_outputs),
        config=config,
        logs=list(collector.messages),
        invokes=list(monitor.mocks.invokes),
    )


def _run_isolated(
    project: str,
    stack: str,
    preview: bool,
    config: dict[str, str],
    main: Path,
    project_dir: Path,
    monitor: Any,
    collector: _LogCollector,
) -> None:
    """Inside a fresh context: configure the runtime, run the program to quiescence, tear down."""
    from pulumi.runtime import mocks as pulumi_mocks
    from pulumi.runtime.config import set_all_config
    from pulumi.runtime.settings import ROOT as ROOT_RESOURCE
    from pulumi.runtime.settings import Settings, configure
    from pulumi.runtime.stack import run_in_stack

    logger = logging.getLogger(f"pipeline.program.{stack}")
    logger.propagate = False
    logger.addHandler(collector)
    settings = Settings(
        project=project,
        stack=stack,
        monitor=monitor,
        engine=pulumi_mocks.MockEngine(logger),
        dry_run=preview,
        organization="organization",
        root_directory=str(project_dir),
    )
    from google.protobuf import empty_pb2

    settings.monitor_features = set(monitor.GetDeploymentInfo(empty_pb2.Empty()).supportedFeatures)
    configure(settings)
    ROOT_RESOURCE.set(None)
    set_all_config(config)

    modules_before = set(sys.modules)
    added_path = str(project_dir) not in sys.path
    if added_path:
        sys.path.insert(0, str(project_dir))
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    asyncio_logger = logging.getLogger("asyncio")
    asyncio_level = asyncio_logger.level
    asyncio_logger.setLevel(logging.CRITICAL)
    target = str(main)
    program: Callable[[], Any] = lambda: runpy.run_path(target, run_name="__main__")  # noqa: E731
    try:
        loop.run_until_complete(run_in_stack(program))
    except (ProgramError, ConfigurationError):
        raise
    except SystemExit as exc:
        raise ProgramError(f"the program for stack '{stack}' exited ({exc.code})") from exc
    except BaseException as exc:
        if not isinstance(exc, Exception):  # Ctrl-C or a signal (console.Interrupted): not a program bug
            raise
        if _is_config_error(exc):
            raise ConfigurationError(f"stack '{stack}': {exc}") from exc
        raise ProgramError(f"the program failed for stack '{stack}': {_describe(exc)}") from exc
    finally:
        for task in asyncio.all_tasks(loop):
            task.cancel()
            with contextlib.suppress(BaseException):
                loop.run_until_complete(task)
        loop.close()
        asyncio.set_event_loop(None)
        asyncio_logger.setLevel(asyncio_level)
        if added_path:
            with contextlib.suppress(ValueError):
                sys.path.remove(str(project_dir))
        _forget_program_modules(modules_before, main)
        logger.removeHandler(collector)


def _forget_program_modules(before: set[str], main: Path) -> None:
    """Drop the modules the run imported from the program's own directory.

    A program may register resources from a helper module's top-level code (`import infra`); a cached
    module would not run again, so the next stack would miss those resources. Library code outside the
    program directory (`shared/`, pulumi_aws) defines classes and functions only and stays cached: the
    runtime state it touches (settings, config, root Stack) is per run, and re-importing it would cost
    ~0.1 s per run. Modules imported before the run (e.g. by a test) are never touched.
    """
    program_root = str((main if main.is_dir() else main.parent).resolve())
    for name in set(sys.modules) - before:
        file = getattr(sys.modules.get(name), "__file__", None) or ""
        if file.startswith(program_root + "/"):
            sys.modules.pop(name, None)
