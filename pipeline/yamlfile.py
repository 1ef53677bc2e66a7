"""Reading the project's YAML and JSON files strictly: UTF-8 only, no duplicate keys, no misread numbers.

PyYAML (like the Go YAML library the Pulumi CLI uses) lets a repeated key silently replace the first
one, so a second `accountId` in a stack file would win without anyone noticing in review. It also reads
an unquoted `012345670123` as the octal number 1442840659. Every YAML file the pipeline reads goes
through `load_yaml`, which rejects both, naming the file and the lines; `read_text` turns a file that is
not UTF-8 into an error naming the file and the offending byte instead of a `UnicodeDecodeError`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ConfigurationError

_READ_AS_ANOTHER_NUMBER = re.compile(r"[-+]?(0[0-9_]+|0[xXoObB].*|.*_.*|.*:.*)")
"""Unquoted integers whose digits are not what YAML reads: leading zero (octal), 0x/0o/0b, `_`, `1:30`."""
_YAML11_ONLY_BOOLEANS = frozenset({"yes", "no", "on", "off"})
"""Booleans in YAML 1.1 (PyYAML) that YAML 1.2 readers such as the CLI's keep as text."""
_LEADING_ZERO_DIGITS = re.compile(r"[-+]?0[0-9]+")
"""Unquoted digits with a leading zero that PyYAML keeps as text but YAML 1.2 readers (the CLI's) read as a
number: `014159265358` (not octal, it has an 8 or 9) becomes 14159265358 in the Pulumi CLI."""


def read_text(path: Path, what: str = "file") -> str:
    """The file's text; a missing, unreadable or non-UTF-8 file is a ConfigurationError naming it."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise ConfigurationError(f"{path}: {what} not found") from exc
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigurationError(
            f"{path}:{line}: the {what} is not UTF-8 text"
            f" (byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8"
        ) from None


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys and integers YAML would read as another number."""

    source = "<yaml>"

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue  # SafeLoader reports unhashable keys itself, with its own message
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise ConfigurationError(
                    f"{self.source}:{line}: duplicate key '{key}' (first defined on line {first_line[key]});"
                    " YAML would silently keep only the last value: remove one of them"
                )
            first_line[key] = line
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        value: int = super().construct_yaml_int(node)
        text = str(node.value)
        if node.style is None and _READ_AS_ANOTHER_NUMBER.fullmatch(text):
            kind = "octal number" if re.fullmatch(r"[-+]?0[0-7_]+", text) else "number"
            raise ConfigurationError(
                f"{self.source}:{node.start_mark.line + 1}: {text} is not quoted, so YAML reads it as"
                f" the {kind} {value}; quote it (\"{text}\") to keep it as written"
            )
        return value


    def construct_yaml_str(self, node: yaml.ScalarNode) -> str:
        value: str = super().construct_yaml_str(node)
        if node.style is None and _LEADING_ZERO_DIGITS.fullmatch(value):
            raise ConfigurationError(
                f"{self.source}:{node.start_mark.line + 1}: {value} is not quoted, so the Pulumi CLI reads"
                f" it as the number {int(value)} (leading zero dropped);"
                f' quote it ("{value}") to keep it as written'
            )
        return value


    def construct_yaml_bool(self, node: yaml.ScalarNode) -> bool:
        value: bool = super().construct_yaml_bool(node)
        text = str(node.value)
        if node.style is None and text.lower() in _YAML11_ONLY_BOOLEANS:
            spelled = str(value).lower()
            raise ConfigurationError(
                f"{self.source}:{node.start_mark.line + 1}: {text} is read as {spelled} here but as the text"
                f' "{text}" by the Pulumi CLI; write {spelled}, or quote it ("{text}")'
            )
        return value


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)
_StrictLoader.add_constructor("tag:yaml.org,2002:bool", _StrictLoader.construct_yaml_bool)
_StrictLoader.add_constructor("tag:yaml.org,2002:str", _StrictLoader.construct_yaml_str)


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text strictly; `source` names the file in every error."""
    loader = _StrictLoader(text)
    loader.source = source
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{source}: invalid YAML: {exc}") from exc
    finally:
        loader.dispose()


def load_yaml(path: Path, what: str = "file") -> Any:
    """Read and parse a YAML file strictly (UTF-8, no duplicate keys, no misread numbers)."""
    return parse_yaml(read_text(path, what), str(path))


def _no_duplicate_pairs(source: str) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in pairs:
            if key in seen:
                raise ConfigurationError(
                    f"{source}: duplicate key '{key}' in one JSON object;"
                    " JSON readers keep only the last value"
                )
            seen[key] = value
        return seen

    return hook


def load_json(path: Path, what: str = "file") -> Any:
    """Read and parse a JSON file (UTF-8, no duplicate keys), errors naming the file and line."""
    text = read_text(path, what)
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_pairs(str(path)))
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from exc
