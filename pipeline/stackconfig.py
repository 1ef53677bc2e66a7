"""Stack configuration as the Pulumi CLI hands it to a program: read, defaulted, validated.

The CLI merges `Pulumi.<stack>.yaml` with the project's `config:` declarations in `Pulumi.yaml`
before a program starts: declared defaults and values fill the gaps, a declared project key with
neither is required, and typed keys are checked. The program then sees every value as a string
(objects and arrays JSON-encoded). This module does the same so the offline check rejects exactly
the stacks `pulumi preview` would reject, with the same wording, and feeds the mock runtime and the
pack (`PULUMI_CONFIG`) the same strings.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import ROOT
from pipeline.errors import ConfigurationError
from pipeline.yamlfile import load_yaml

_TYPES = frozenset({"string", "integer", "boolean", "array", "object"})


@dataclass(frozen=True, slots=True)
class ConfigDeclaration:
    """One entry of `Pulumi.yaml`'s `config:` block, with its key fully qualified (`proj:key`)."""

    key: str
    type: str | None = None
    items: Mapping[str, Any] | None = None
    default: Any = None
    has_default: bool = False
    secret: bool = False
    description: str = ""

    @property
    def required(self) -> bool:
        """Typed project keys with no default must be set by every stack (as the CLI enforces)."""
        return self.type is not None and not self.has_default

    @property
    def type_name(self) -> str:
        """The type as the CLI spells it in errors: `array<string>`, `integer`..."""
        return _type_name(self.type, self.items)


@dataclass(frozen=True, slots=True)
class Project:
    """What the pipeline needs from `Pulumi.yaml`."""

    name: str
    directory: Path
    file: Path
    main: Path
    stack_config_dir: Path
    declarations: Mapping[str, ConfigDeclaration] = field(default_factory=dict)

    def stack_file(self, stack: str) -> Path:
        """Where `Pulumi.<stack>.yaml` lives (honours `stackConfigDir`)."""
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"


def _read_yaml(path: Path) -> Any:
    """Parse a YAML file strictly (`pipeline.yamlfile`): errors name the file and line."""
    return load_yaml(path)


def existing_stacks(project: Project) -> list[str]:
    """The stacks this project has a `Pulumi.<stack>.yaml` for, sorted."""
    files = project.stack_config_dir.glob("Pulumi.*.yaml")
    return sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in files)


def require_stacks(project: Project, names: Sequence[str]) -> None:
    """Raise a ConfigurationError for the first name with no stack file, listing the stacks that exist."""
    known = existing_stacks(project)
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            missing = project.stack_config_dir / f"Pulumi.{name}.yaml"
            raise ConfigurationError(
                f"no stack '{name}': {missing} does not exist; {hint}"
                f"the stacks are {', '.join(known) or '(none)'}"
            )


def _type_name(type_: str | None, items: Mapping[str, Any] | None) -> str:
    if type_ == "array":
        inner = items or {}
        return f"array<{_type_name(inner.get('type'), inner.get('items'))}>"
    return type_ or "any"


def load_project(project_dir: Path = ROOT) -> Project:
    """Read `Pulumi.yaml` (name, main, stackConfigDir and the config declarations)."""
    project_dir = Path(project_dir)
    file = project_dir / "Pulumi.yaml"
    data = _read_yaml(file)
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"]:
        raise ConfigurationError(f"{file}: project is missing a 'name' attribute")
    name: str = data["name"]
    main = project_dir / str(data.get("main") or ".")
    config_block = data.get("config") or {}
    stack_dir = data.get("stackConfigDir")
    if isinstance(config_block, str):  # legacy form: `config: <dir>` means stackConfigDir
        stack_dir, config_block = config_block, {}
    if not isinstance(config_block, dict):
        raise ConfigurationError(f"{file}: 'config' must be a mapping")
    declarations: dict[str, ConfigDeclaration] = {}
    for key, spec in _qualified(file, config_block, name).items():
        declarations[key] = _declaration(file, name, key, spec)
    return Project(
        name=name,
        directory=project_dir,
        file=file,
        main=main,
        stack_config_dir=project_dir / stack_dir if stack_dir else project_dir,
        declarations=declarations,
    )


def _declaration(file: Path, project: str, key: str, spec: Any) -> ConfigDeclaration:
    """One declaration: `{type, items, default|value, secret}` or a bare value (an untyped default)."""
    own = key.startswith(f"{project}:")
    is_schema = isinstance(spec, dict) and (
        "type" in spec or "default" in spec or "value" in spec or "items" in spec or "secret" in spec
    )
    if not is_schema:
        return ConfigDeclaration(key=key, default=spec, has_default=True)
    if "default" in spec and "value" in spec:
        raise ConfigurationError(
            f"{file}: project config '{key}' cannot have both a 'default' and 'value' attribute"
        )
    type_ = spec.get("type")
    if type_ is not None and type_ not in _TYPES:
        raise ConfigurationError(f"{file}: configuration key '{key}' has unknown type '{type_}'")
    if type_ is not None and not own:
        raise ConfigurationError(
            f"{file}: Configuration key '{key}' is not namespaced by the project and should not define a type"
        )
    if type_ == "array" and not isinstance(spec.get("items"), dict):
        raise ConfigurationError(
            f"{file}: The configuration key '{key}' declares an array "
            "but does not specify the underlying type via the 'items' attribute"
        )
    has_default = "default" in spec or "value" in spec
    default = spec.get("default", spec.get("value"))
    decl = ConfigDeclaration(
        key=key,
        type=type_,
        items=spec.get("items"),
        default=default,
        has_default=has_default,
        secret=bool(spec.get("secret", False)),
        description=str(spec.get("description") or ""),
    )
    if has_default and type_ is not None and not _matches(default, type_, decl.items):
        raise ConfigurationError(
            f"{file}: The default value specified for configuration key '{key}' "
            f"is not of the expected type '{decl.type_name}'"
        )
    return decl


def _key_line(file: Path, raw_key: str) -> int | None:
    return find_line(file, rf"^\s+[\"']?{re.escape(raw_key)}[\"']?\s*:")


def _qualified(file: Path, block: Mapping[Any, Any], project: str) -> dict[str, Any]:
    """The block's entries under their fully qualified keys; `accountId` and `<project>:accountId` name
    the same key for the CLI, so having both is a duplicate key (the CLI would keep only one)."""
    qualified: dict[str, Any] = {}
    raw_of: dict[str, str] = {}
    for raw_key, value in block.items():
        key = qualify_key(str(raw_key), project)
        if key in qualified:
            first, second = raw_of[key], str(raw_key)
            raise ConfigurationError(
                f"{file}:{_key_line(file, second) or '?'}: duplicate key '{second}': it is the same key as "
                f"'{first}' (line {_key_line(file, first) or '?'}), both are '{key}'; remove one of them"
            )
        qualified[key] = value
        raw_of[key] = str(raw_key)
    return qualified


def qualify_key(key: str, project: str) -> str:
    """`roles` -> `proj:roles`; `aws:region` stays (the CLI namespaces bare keys to the project)."""
    return key if ":" in key else f"{project}:{key}"


def _matches(value: Any, type_: str | None, items: Mapping[str, Any] | None) -> bool:
    """Whether a YAML value fits a declared type, as leniently as the CLI (scalars may be strings)."""
    if type_ is None:
        return True
    if type_ == "string":
        return not isinstance(value, dict | list)
    if type_ == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        return isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()) is not None
    if type_ == "boolean":
        return isinstance(value, bool) or (isinstance(value, str) and value in {"true", "false"})
    if type_ == "array":
        inner = items or {}
        return isinstance(value, list) and all(
            _matches(v, inner.get("type"), inner.get("items")) for v in value
        )
    if type_ == "object":
        return isinstance(value, dict)
    return True


def to_runtime_string(value: Any) -> str:
    """The string a Pulumi program receives for a config value (objects/arrays JSON-encoded)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def read_stack_values(stack_file: Path, project: str) -> dict[str, Any]:
    """The raw (typed, YAML-decoded) `config:` values of a stack file, keys fully qualified."""
    data = _read_yaml(stack_file)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigurationError(f"{stack_file}: expected a mapping with a 'config' key")
    block = data.get("config") or {}
    if not isinstance(block, dict):
        raise ConfigurationError(f"{stack_file}: 'config' must be a mapping")
    values: dict[str, Any] = {}
    for key, value in _qualified(stack_file, block, project).items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            raise ConfigurationError(
                f"{stack_file}: '{key}' is an encrypted secret; the offline check cannot decrypt it "
                "(use plain values for these stacks, or run with --live)"
            )
        values[key] = value
    return values


def _join_keys(keys: list[str]) -> str:
    """'a' / 'a' and 'b' / 'a', 'b' and 'c' -- the CLI's list wording."""
    quoted = [f"'{k}'" for k in keys]
    if len(quoted) == 1:
        return quoted[0]
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


def resolve_stack_values(
    project: Project, stack: str, stack_file: Path | None = None
) -> tuple[dict[str, Any], Path]:
    """Merged, validated config values (typed, not yet stringified) and the stack file they came from."""
    file = Path(stack_file) if stack_file is not None else project.stack_file(stack)
    values = read_stack_values(file, project.name)
    missing: list[str] = []
    for key, decl in project.declarations.items():
        if key in values:
            if not _matches(values[key], decl.type, decl.items):
                raise ConfigurationError(
                    f"Stack '{stack}' with configuration key '{key}' must be of type '{decl.type_name}' "
                    f"(in {file})"
                )
            continue
        if decl.has_default:
            values[key] = decl.default
        elif decl.required:
            missing.append(key)
    if missing:
        plural = "value" if len(missing) == 1 else "values"
        raise ConfigurationError(
            f"Stack '{stack}' is missing configuration {plural} {_join_keys(sorted(missing))} "
            f"(in {file}; declared in {project.file.name})"
        )
    return values, file


def load_stack_config(
    project_dir: Path = ROOT, stack: str = "dev", stack_file: Path | None = None
) -> dict[str, str]:
    """`{"proj:key"|"aws:region": str}` exactly as the program and the pack (`PULUMI_CONFIG`) get it."""
    project = load_project(project_dir)
    values, _file = resolve_stack_values(project, stack, stack_file)
    return {key: to_runtime_string(value) for key, value in sorted(values.items())}


def find_line(stack_file: Path, pattern: str) -> int | None:
    """1-based line of the first line matching a regex in a stack file (for SARIF locations)."""
    try:
        lines = Path(stack_file).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    regex = re.compile(pattern)
    for number, line in enumerate(lines, start=1):
        if regex.search(line):
            return number
    return None


def role_line(stack_file: Path, role: str) -> int | None:
    """The line of `- name: <role>` (quoted or not) in a stack file's roles list."""
    return find_line(stack_file, rf"^\s*-\s*name:\s*[\"']?{re.escape(role)}[\"']?\s*(#.*)?$")
