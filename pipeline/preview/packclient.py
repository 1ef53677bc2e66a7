"""Drive a CrossGuard policy pack over its gRPC protocol, the way the Pulumi engine does.

The engine starts a Python pack as `<pack venv python> -u -m pulumi.policy <engine-addr> <pack-dir>`
(cwd = the pack dir, with PULUMI_PROJECT/STACK/DRY_RUN/CONFIG/ORGANIZATION in the environment), reads
the port from the first stdout line, then calls GetAnalyzerInfo, reconciles the
`--policy-pack-config` file with the pack's defaults and config schemas (`ReconcilePolicyPackConfig`
in pulumi/pulumi `pkg/resource/analyzer/config.go`), sends `Configure` with one entry per policy,
`Analyze` for every resource (its inputs) and `AnalyzeStack` once (outputs, parents, dependencies).
This module does each of those steps; nothing here knows about IAM.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigurationError, PackError
from pipeline.recording import RESOURCE_SIG, SIG_KEY, RecordedResource
from pipeline.yamlfile import load_json, load_yaml, read_text

LEVELS = ("advisory", "mandatory", "remediate", "disabled")
_LEVEL_TO_PROTO = {"advisory": 0, "mandatory": 1, "disabled": 2, "remediate": 3}
_PROTO_TO_LEVEL = {v: k for k, v in _LEVEL_TO_PROTO.items()}
_SEVERITIES = {0: "unspecified", 1: "low", 2: "medium", 3: "high", 4: "critical"}
CANT_RUN_PREFIX = "can't run policy"


# --------------------------------------------------------------------------------------------------
# Pack metadata and diagnostics


@dataclass(frozen=True, slots=True)
class PolicyInfo:
    """One policy as GetAnalyzerInfo describes it."""

    name: str
    description: str
    enforcement_level: str
    config_schema: dict[str, Any] | None
    kind: str  # "resource" | "stack" | "unknown"
    severity: str = "unspecified"


@dataclass(frozen=True, slots=True)
class PackInfo:
    """The pack's name, version and policies (and any programmatic initial config)."""

    name: str
    version: str
    policies: tuple[PolicyInfo, ...]
    initial_config: Mapping[str, PolicyConfigValue] = field(default_factory=dict)

    def policy(self, name: str) -> PolicyInfo | None:
        return next((p for p in self.policies if p.name == name), None)


@dataclass(frozen=True, slots=True)
class PolicyConfigValue:
    """One policy's effective configuration: enforcement level and properties."""

    enforcement_level: str | None
    properties: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One AnalyzeDiagnostic, with the resource it was reported for (AnalyzeStack may not know it)."""

    policy_name: str
    pack_name: str
    pack_version: str
    description: str
    message: str
    enforcement_level: str
    urn: str
    severity: str = "unspecified"

    @property
    def cant_run(self) -> bool:
        """The SDK's advisory for a policy that touched a value unknown during preview."""
        return self.message.startswith(CANT_RUN_PREFIX)

    @property
    def detail(self) -> str:
        """The message without the policy description the SDK prepends (`description + "\\n" + msg`)."""
        if self.description and self.message.startswith(self.description + "\n"):
            return self.message[len(self.description) + 1 :]
        return self.message


# --------------------------------------------------------------------------------------------------
# Policy pack config (--policy-pack-config) and its reconciliation


def parse_pack_config(data: Any, source: str) -> dict[str, PolicyConfigValue]:
    """Parse `{"all": "mandatory", "<policy>": "advisory" | {"enforcementLevel": ..., "<prop>": ...}}`."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigurationError(f"{source}: policy pack config must be a JSON object")
    result: dict[str, PolicyConfigValue] = {}
    for key, value in data.items():
        if key == "environments":  # ESC environments: not applicable to a local file
            continue
        level: str | None = None
        props: dict[str, Any] | None = None
        if isinstance(value, str):
            level = value
        elif isinstance(value, dict):
            rest = dict(value)
            raw = rest.pop("enforcementLevel", None)
            if raw is not None and not isinstance(raw, str):
                raise ConfigurationError(
                    f'{source}: parsing enforcement level for "{key}": {raw!r} is not a valid '
                    "enforcement level; must be a string"
                )
            level = raw
            props = rest or None
        else:
            raise ConfigurationError(
                f'{source}: parsing "{key}": {value!r} is not a valid value; must be a string or object'
            )
        if level is not None and level not in LEVELS:
            raise ConfigurationError(
                f'{source}: parsing enforcement level for "{key}": "{level}" is not a valid enforcement level'
            )
        if level is None and not props:
            continue
        result[key] = PolicyConfigValue(level, props)
    return result


def load_pack_config(path: Path | None) -> dict[str, PolicyConfigValue]:
    """Read a `--policy-pack-config` JSON file (absent path -> no config, like omitting the flag)."""
    if path is None:
        return {}
    path = Path(path)
    if not read_text(path, "policy pack config").strip():
        return {}
    return parse_pack_config(load_json(path, "policy pack config"), str(path))


def _apply(result: dict[str, PolicyConfigValue], given: Mapping[str, PolicyConfigValue]) -> None:
    """The engine's applyConfig: `all` sets every level, then per-policy levels and merged properties."""
    everyone = given.get("all")
    if everyone is not None and everyone.enforcement_level in LEVELS:
        for name, value in list(result.items()):
            result[name] = PolicyConfigValue(everyone.enforcement_level, value.properties)
    for name, value in given.items():
        if name == "all":
            continue
        current = result.get(name, PolicyConfigValue(None, None))
        level = value.enforcement_level if value.enforcement_level in LEVELS else current.enforcement_level
        props = dict(current.properties or {})
        props.update(value.properties or {})
        result[name] = PolicyConfigValue(level, props or None)


def _closest(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_names(info: PackInfo, given: Mapping[str, PolicyConfigValue]) -> list[str]:
    """A message per policy the pack does not have and per option a policy does not declare.

    Every policy's options are closed: only the properties of its config schema (none when it has no
    schema). The engine itself passes an unknown policy on and validates options only against
    `properties`/`required`, so a typo there would be ignored; the offline check refuses it (exit 2)."""
    problems: list[str] = []
    names = [p.name for p in info.policies]
    for name, value in given.items():
        if name == "all":
            continue
        policy = info.policy(name)
        if policy is None:
            problems.append(
                f'"{name}" is not a policy of pack {info.name}{_closest(name, names)}; '
                f"its policies are: {', '.join(sorted(names))}"
            )
            continue
        declared = sorted((policy.config_schema or {}).get("properties") or {})
        for option in sorted(value.properties or {}):
            if option not in declared:
                problems.append(
                    f'policy "{name}" has no option "{option}"{_closest(option, declared)}; '
                    f"its options are: {', '.join(declared) or 'none'}"
                )
    return problems


def reconcile_pack_config(
    info: PackInfo, given: Mapping[str, PolicyConfigValue], source: str = "policy pack config"
) -> tuple[dict[str, PolicyConfigValue], list[str]]:
    """Schema defaults -> policy levels -> pack initial config -> file; then validate against the schemas.

    Returns the configuration for every policy of the pack, and notes about entries naming no policy.
    Raises ConfigurationError with every validation error, worded like the CLI.
    """
    result: dict[str, PolicyConfigValue] = {}
    for policy in info.policies:
        defaults = {
            k: v["default"]
            for k, v in ((policy.config_schema or {}).get("properties") or {}).items()
            if isinstance(v, dict) and "default" in v
        }
        result[policy.name] = PolicyConfigValue(policy.enforcement_level, defaults or None)
    _apply(result, info.initial_config)
    unknown = unknown_names(info, given)
    if unknown:
        raise ConfigurationError(f"{source}: " + "; ".join(unknown))
    _apply(result, given)
    notes: list[str] = []
    errors: list[str] = []
    for policy in info.policies:
        if policy.config_schema is None:
            continue
        schema: dict[str, Any] = {"type": "object"}
        if policy.config_schema.get("properties"):
            schema["properties"] = policy.config_schema["properties"]
        if policy.config_schema.get("required"):
            schema["required"] = policy.config_schema["required"]
        props = result[policy.name].properties or {}
        errors.extend(f"{policy.name}: {e}" for e in validate_schema(schema, props))
    if errors:
        raise ConfigurationError(
            f'{source}: validating policy config for "{info.name}": ' + "; ".join(errors)
        )
    return {p.name: result[p.name] for p in info.policies}, notes


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
    "number": (int, float),
    "integer": (int, float),
}


def _json_type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _is_type(value: Any, type_: str) -> bool:
    actual = _json_type_name(value)
    if type_ == "number":
        return actual in ("integer", "number")
    return actual == type_


def validate_schema(schema: Mapping[str, Any], value: Any, path: str = "(root)") -> list[str]:
    """A small JSON-Schema subset (type, enum, const, required, properties, additionalProperties, items,
    minimum/maximum, minLength/maxLength, minItems/maxItems, pattern, uniqueItems): what pack schemas use.

    Messages follow gojsonschema's wording (the engine's validator), without its `(root): ` prefix.
    """
    import re

    errors: list[str] = []
    prefix = "" if path == "(root)" else f"{path}: "
    type_ = schema.get("type")
    if type_ is not None:
        types = [type_] if isinstance(type_, str) else list(type_)
        if not any(_is_type(value, t) for t in types):
            errors.append(
                f"{prefix}Invalid type. Expected: {', '.join(types)}, given: {_json_type_name(value)}"
            )
            return errors
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(json.dumps(v) for v in schema["enum"])
        errors.append(f"{prefix}{path} must be one of the following: {allowed}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{prefix}{path} does not match: {json.dumps(schema['const'])}")
    if isinstance(value, dict):
        for name in schema.get("required") or []:
            if name not in value:
                errors.append(f"{prefix}{name} is required")
        props = schema.get("properties") or {}
        for name, sub in value.items():
            child = name if path == "(root)" else f"{path}.{name}"
            if name in props and isinstance(props[name], dict):
                errors.extend(validate_schema(props[name], sub, child))
            elif name not in props:
                extra = schema.get("additionalProperties", True)
                if extra is False:
                    errors.append(f"{prefix}Additional property {name} is not allowed")
                elif isinstance(extra, dict):
                    errors.extend(validate_schema(extra, sub, child))
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for index, item in enumerate(value):
                errors.extend(
                    validate_schema(items, item, f"{path if path != '(root)' else ''}.{index}".lstrip("."))
                )
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(f"{prefix}Array must have at least {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{prefix}Array must have at most {schema['maxItems']} items")
        if schema.get("uniqueItems") and len({json.dumps(v, sort_keys=True) for v in value}) != len(value):
            errors.append(f"{prefix}array items must be unique")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(f"{prefix}String length must be greater than or equal to {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{prefix}String length must be less than or equal to {schema['maxLength']}")
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            errors.append(f"{prefix}Does not match pattern '{schema['pattern']}'")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{prefix}Must be greater than or equal to {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{prefix}Must be less than or equal to {schema['maximum']}")
    return errors


# --------------------------------------------------------------------------------------------------
# Wire conversions


def engine_properties(value: Any, ids: Mapping[str, str] | None = None) -> Any:
    """Properties as the engine marshals them for analyzers: resource references become their id (custom
    resources with a known id) or URN; internal `__` keys dropped; secrets and unknowns kept."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == RESOURCE_SIG:
            urn = str(value.get("urn", ""))
            resource_id = value.get("id") or (ids or {}).get(urn, "")
            return resource_id or urn
        return {k: engine_properties(v, ids) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [engine_properties(v, ids) for v in value]
    return value


def _struct(data: Mapping[str, Any]) -> Any:
    from google.protobuf import struct_pb2

    struct = struct_pb2.Struct()
    struct.update(dict(data))
    return struct


def _resource_options(resource: RecordedResource) -> Any:
    from pulumi.runtime.proto import analyzer_pb2

    opts = resource.options
    message = analyzer_pb2.AnalyzerResourceOptions(
        protect=bool(opts.get("protect", False)),
        ignoreChanges=list(opts.get("ignoreChanges", [])),
        additionalSecretOutputs=list(opts.get("additionalSecretOutputs", [])),
        aliases=list(opts.get("aliases", [])),
        parent=resource.parent or "",
    )
    if "deleteBeforeReplace" in opts:
        message.deleteBeforeReplace = bool(opts["deleteBeforeReplace"])
        message.deleteBeforeReplaceDefined = True
    if "customTimeouts" in opts:
        timeouts = opts["customTimeouts"]
        message.customTimeouts.create = float(timeouts.get("create") or 0)
        message.customTimeouts.update = float(timeouts.get("update") or 0)
        message.customTimeouts.delete = float(timeouts.get("delete") or 0)
    return message


def _provider_message(provider: RecordedResource | None) -> Any:
    from pulumi.runtime.proto import analyzer_pb2

    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        type=provider.type, properties=_struct(provider.inputs), urn=provider.urn, name=provider.name
    )


def analyze_request(
    resource: RecordedResource, provider: RecordedResource | None = None, ids: Mapping[str, str] | None = None
) -> Any:
    """The AnalyzeRequest the engine sends for one resource: its inputs."""
    from pulumi.runtime.proto import analyzer_pb2

    request = analyzer_pb2.AnalyzeRequest(
        type=resource.type,
        properties=_struct(engine_properties(resource.inputs, ids)),
        urn=resource.urn,
        name=resource.name,
        options=_resource_options(resource),
    )
    if provider is not None:
        request.provider.CopyFrom(_provider_message(provider))
    return request


def analyzer_resource(
    resource: RecordedResource, provider: RecordedResource | None = None, ids: Mapping[str, str] | None = None
) -> Any:
    """The AnalyzerResource for AnalyzeStack: outputs (inputs for components without outputs) and links."""
    from pulumi.runtime.proto import analyzer_pb2

    props = resource.outputs if (resource.outputs or resource.custom) else resource.inputs
    message = analyzer_pb2.AnalyzerResource(
        type=resource.type,
        properties=_struct(engine_properties(props, ids)),
        urn=resource.urn,
        name=resource.name,
        options=_resource_options(resource),
        parent=resource.parent or "",
        dependencies=list(resource.dependencies),
    )
    for key, urns in resource.property_dependencies.items():
        message.propertyDependencies[key].urns.extend(urns)
    if provider is not None:
        message.provider.CopyFrom(_provider_message(provider))
    return message


def _lookup_provider(
    ref: str | None, providers: Mapping[str, RecordedResource] | None
) -> RecordedResource | None:
    """A provider reference is `<urn>::<id>` (or, for the default provider we synthesise, its URN)."""
    if not ref or not providers:
        return None
    return providers.get(ref) or providers.get(ref.rsplit("::", 1)[0])


# --------------------------------------------------------------------------------------------------
# The pack process


def pack_virtualenv(pack_dir: Path) -> Path | None:
    """The virtualenv `PulumiPolicy.yaml` names (`runtime.options.virtualenv`, relative to the pack)."""
    path = Path(pack_dir) / "PulumiPolicy.yaml"
    if not path.is_file():
        return None  # not a pack: starting it reports what is missing
    manifest = load_yaml(path, "policy pack manifest")
    runtime = manifest.get("runtime") if isinstance(manifest, dict) else None
    options = runtime.get("options") if isinstance(runtime, dict) else None
    name = options.get("virtualenv") if isinstance(options, dict) else None
    if not name:
        return None
    return Path(pack_dir) / str(name) if not Path(str(name)).is_absolute() else Path(str(name))


def pack_virtualenv_problem(pack_dir: Path) -> str | None:
    """Why the CLI could not start this pack: the virtualenv its manifest names was never built."""
    venv = pack_virtualenv(pack_dir)
    if venv is None or any((venv / sub).is_file() for sub in ("bin/python", "Scripts/python.exe")):
        return None
    return (
        f"the policy pack's virtualenv {venv} does not exist (PulumiPolicy.yaml runtime.options.virtualenv). "
        f"The Pulumi CLI never installs a local pack's dependencies: build it with `make setup`, or run "
        f"`pulumi install` inside {pack_dir}"
    )


def pack_python(pack_dir: Path) -> str:
    """The interpreter the CLI would start the pack with: the manifest's virtualenv (which must exist), or,
    when it names none, the ambient Python (this interpreter)."""
    problem = pack_virtualenv_problem(pack_dir)
    if problem:
        raise PackError(problem)
    venv = pack_virtualenv(pack_dir)
    candidates = [] if venv is None else [venv / "bin" / "python", venv / "Scripts" / "python.exe"]
    return next((str(c) for c in candidates if c.is_file()), sys.executable)


class PolicyPackProcess:
    """One running policy pack, started and spoken to exactly as the engine does.

    Use as a context manager, or call `start()` early and `wait_ready()` later so several packs boot
    in parallel while the program runs.
    """

    def __init__(
        self,
        pack_dir: Path,
        *,
        project: str,
        stack: str,
        dry_run: bool,
        config: Mapping[str, str] | None = None,
        organization: str = "organization",
        python: str | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self.pack_dir = Path(pack_dir).resolve()
        self.project = project
        self.stack = stack
        self.dry_run = dry_run
        self.config = dict(config or {})
        self.organization = organization
        self.python = python or pack_python(self.pack_dir)
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the process)
        self._channel: Any = None
        self._stub: Any = None

    # -- lifecycle -------------------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        """The environment the engine's policy proxy sets for the pack."""
        env = dict(os.environ)
        env.update(
            {
                "PULUMI_PROJECT": self.project,
                "PULUMI_STACK": self.stack,
                "PULUMI_DRY_RUN": "true" if self.dry_run else "false",
                "PULUMI_CONFIG": json.dumps(self.config),
                "PULUMI_ORGANIZATION": self.organization,
            }
        )
        env.pop("PULUMI_CONFIG_SECRET_KEYS", None)
        return env

    def command(self) -> list[str]:
        """`<python> -u -m pulumi.policy <engine-address> <pack-dir>` (the pack ignores the address)."""
        return [self.python, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(self.pack_dir)]

    def start(self) -> PolicyPackProcess:
        """Launch the pack process (non-blocking)."""
        if self.process is not None:
            return self
        if not (self.pack_dir / "__main__.py").is_file():
            raise PackError(f"policy pack not found: {self.pack_dir} has no __main__.py")
        try:
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.pack_dir,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
            )
        except OSError as exc:
            raise PackError(f"cannot start the policy pack with {self.python}: {exc}") from exc
        return self

    def _stderr_tail(self, lines: int = 15) -> str:
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        return "\n".join(text[-lines:])

    def wait_ready(self) -> int:
        """Read the port line (the first stdout line) and connect; a crash shows the pack's stderr."""
        if self.port is not None:
            return self.port
        self.start()
        assert self.process is not None and self.process.stdout is not None
        deadline = time.monotonic() + self.startup_timeout
        buffer = b""
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while b"\n" not in buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.close()
                    raise PackError(
                        f"policy pack {self.pack_dir} did not report its port within "
                        f"{self.startup_timeout:.0f}s"
                    )
                if not selector.select(timeout=min(remaining, 0.5)):
                    if self.process.poll() is not None:
                        break
                    continue
                chunk = os.read(self.process.stdout.fileno(), 4096)
                if not chunk:
                    break
                buffer += chunk
        line = buffer.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
        if not line.isdigit():
            self.process.wait(timeout=5) if self.process.poll() is None and not line else None
            tail = self._stderr_tail()
            self.close()
            what = (
                f"wrote an invalid port to stdout: {line!r}" if line else "exited before reporting its port"
            )
            raise PackError(f"policy pack {self.pack_dir} {what}" + (f"\n{tail}" if tail else ""))
        self.port = int(line)
        import grpc
        from pulumi.runtime.proto import analyzer_pb2_grpc

        self._channel = grpc.insecure_channel(
            f"127.0.0.1:{self.port}", options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)]
        )
        self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        return self.port

    def close(self) -> None:
        """Terminate the pack (the engine kills plugins at the end of a run)."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=3)
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()

    def __enter__(self) -> PolicyPackProcess:
        self.wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- RPCs ------------------------------------------------------------------------------------

    def _call(self, method: str, request: Any) -> Any:
        import grpc

        self.wait_ready()
        try:
            return getattr(self._stub, method)(request, timeout=120)
        except grpc.RpcError as exc:
            raise PackError(
                f"policy pack {method} failed: {exc.code().name}: {exc.details()}"
                + (f"\n{self._stderr_tail()}" if self._stderr_tail() else "")
            ) from exc

    def get_info(self) -> PackInfo:
        """GetAnalyzerInfo: the pack's policies, default levels and config schemas."""
        from google.protobuf import empty_pb2, json_format

        info = self._call("GetAnalyzerInfo", empty_pb2.Empty())
        policies = []
        for p in info.policies:
            schema = None
            if p.HasField("configSchema"):
                schema = {
                    "properties": json_format.MessageToDict(p.configSchema.properties),
                    "required": list(p.configSchema.required),
                }
            kind = {1: "resource", 2: "stack"}.get(int(p.policy_type), "unknown")
            policies.append(
                PolicyInfo(
                    name=p.name,
                    description=p.description,
                    enforcement_level=_PROTO_TO_LEVEL.get(int(p.enforcementLevel), "advisory"),
                    config_schema=schema,
                    kind=kind,
                    severity=_SEVERITIES.get(int(p.severity), "unspecified"),
                )
            )
        initial = {
            name: PolicyConfigValue(
                _PROTO_TO_LEVEL.get(int(cfg.enforcementLevel)),
                json_format.MessageToDict(cfg.properties) or None,
            )
            for name, cfg in info.initialConfig.items()
        }
        return PackInfo(
            name=info.name, version=info.version, policies=tuple(policies), initial_config=initial
        )

    def configure(self, config: Mapping[str, PolicyConfigValue]) -> None:
        """Configure: one PolicyConfig per policy (the pack replaces its whole config with this)."""
        from pulumi.runtime.proto import analyzer_pb2

        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, value in config.items():
            entry = request.policyConfig[name]
            entry.enforcementLevel = _LEVEL_TO_PROTO[value.enforcement_level or "advisory"]
            if value.properties:
                entry.properties.update(value.properties)
        self._call("Configure", request)

    def configure_stack(self, tags: Mapping[str, str] | None = None) -> None:
        """ConfigureStack, as the engine's policy proxy sends it (the pack keeps only the tags)."""
        from pulumi.runtime.proto import analyzer_pb2

        request = analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=self.stack,
            project=self.project,
            organization=self.organization,
            dry_run=self.dry_run,
            config=self.config,
            tags=dict(tags or {}),
        )
        # Older SDKs do not implement it; the engine tolerates that too.
        with contextlib.suppress(PackError):
            self._call("ConfigureStack", request)

    def _diagnostics(self, response: Any, default_urn: str) -> list[Diagnostic]:
        return [
            Diagnostic(
                policy_name=d.policyName,
                pack_name=d.policyPackName,
                pack_version=d.policyPackVersion,
                description=d.description,
                message=d.message,
                enforcement_level=_PROTO_TO_LEVEL.get(int(d.enforcementLevel), "advisory"),
                urn=d.urn or default_urn,
                severity=_SEVERITIES.get(int(d.severity), "unspecified"),
            )
            for d in response.diagnostics
        ]

    def analyze(
        self, resources: Sequence[RecordedResource], providers: Mapping[str, RecordedResource] | None = None
    ) -> list[Diagnostic]:
        """Analyze every resource (requests in flight together, like the engine's parallel steps)."""
        import grpc

        self.wait_ready()
        ids = {r.urn: r.id for r in resources if r.id}
        futures = []
        for resource in resources:
            provider = _lookup_provider(resource.provider, providers)
            futures.append(
                (resource, self._stub.Analyze.future(analyze_request(resource, provider, ids), timeout=120))
            )
        diagnostics: list[Diagnostic] = []
        for resource, future in futures:
            try:
                response = future.result()
            except grpc.RpcError as exc:
                raise PackError(
                    f"policy pack Analyze failed for {resource.urn}: {exc.code().name}: {exc.details()}"
                ) from exc
            diagnostics.extend(self._diagnostics(response, resource.urn))
        return diagnostics

    def analyze_stack(
        self, resources: Iterable[RecordedResource], providers: Mapping[str, RecordedResource] | None = None
    ) -> list[Diagnostic]:
        """AnalyzeStack once with every resource, its outputs, parent and dependencies."""
        from pulumi.runtime.proto import analyzer_pb2

        resources = list(resources)
        ids = {r.urn: r.id for r in resources if r.id}
        request = analyzer_pb2.AnalyzeStackRequest()
        for resource in resources:
            provider = _lookup_provider(resource.provider, providers)
            request.resources.append(analyzer_resource(resource, provider, ids))
        return self._diagnostics(self._call("AnalyzeStack", request), "")
