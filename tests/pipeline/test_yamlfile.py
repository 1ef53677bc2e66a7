"""Every YAML file the pipeline reads is strict: duplicate keys, misread numbers and non-UTF-8 text are
errors naming the file and the line(s), from the loader up to `python -m pipeline check` (exit 2)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import ConfigurationError
from pipeline.stackconfig import load_project, load_stack_config
from pipeline.yamlfile import load_json, load_yaml, parse_yaml


def _error(text: str) -> str:
    with pytest.raises(ConfigurationError) as raised:
        parse_yaml(text, "f.yaml")
    return str(raised.value)


@pytest.mark.parametrize(
    ("text", "key", "first", "second"),
    [
        ("a: 1\nb: 2\na: 3\n", "a", 1, 3),
        ("config:\n  x:\n    y: 1\n  z: 0\n  x: 2\n", "x", 2, 5),
        ("roles:\n  - name: r\n    trusted: [a]\n    trusted: [b]\n", "trusted", 3, 4),
        ("{a: 1, a: 2}\n", "a", 1, 1),
    ],
)
def test_a_duplicate_key_names_both_lines(text: str, key: str, first: int, second: int) -> None:
    message = _error(text)
    assert message.startswith(f"f.yaml:{second}: duplicate key '{key}'")
    assert f"first defined on line {first}" in message


def test_the_same_key_in_different_mappings_is_fine() -> None:
    assert parse_yaml("a: {x: 1}\nb: {x: 2}\nc: [{x: 1}, {x: 2}]\n", "f.yaml")["c"] == [{"x": 1}, {"x": 2}]


@pytest.mark.parametrize(
    ("written", "kind"),
    [
        ("012345670123", "YAML reads it as the octal number 1402433619"),
        ("0777", "YAML reads it as the octal number 511"),
        ("0x1F", "YAML reads it as the number 31"),
        ("1_000", "YAML reads it as the number 1000"),
        ("014159265358", "the Pulumi CLI reads it as the number 14159265358"),
    ],
)
def test_an_unquoted_number_yaml_reads_differently_must_be_quoted(written: str, kind: str) -> None:
    message = _error(f"accountId: {written}\n")
    assert message.startswith(f"f.yaml:1: {written} is not quoted, so {kind}")
    assert f'quote it ("{written}")' in message


@pytest.mark.parametrize("text", ["id: '012345670123'\n", 'id: "0777"\n', "n: 3600\n", "n: 0\n"])
def test_quoted_and_plain_numbers_are_read_as_written(text: str) -> None:
    value = next(iter(parse_yaml(text, "f.yaml").values()))
    assert str(value) == text.split(": ", 1)[1].strip().strip("'\"")


def test_a_file_that_is_not_utf8_names_the_file_line_and_byte(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_bytes("config:\n  aws:region: eu-west-1\n  tags: {team: caf\u00e9}\n".encode("latin-1"))
    with pytest.raises(ConfigurationError) as raised:
        load_yaml(path)
    assert str(raised.value).startswith(f"{path}:3: the file is not UTF-8 text (byte 0xe9 ")


def test_a_json_file_is_strict_too(tmp_path: Path) -> None:
    path = tmp_path / "dev.json"
    path.write_text('{"all": "advisory", "all": "mandatory"}', encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"dev.json: duplicate key 'all'"):
        load_json(path)
    path.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(ConfigurationError, match=r"dev.json:1: the file is not UTF-8"):
        load_json(path)


def test_the_project_file_is_read_strictly(project_copy: Path) -> None:
    text = (project_copy / "Pulumi.yaml").read_text(encoding="utf-8")
    (project_copy / "Pulumi.yaml").write_text(text + "main: elsewhere/\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"Pulumi.yaml:\d+: duplicate key 'main' \(first defined on"):
        load_project(project_copy)


def test_a_second_account_id_in_a_stack_file_is_refused(project_copy: Path) -> None:
    path = project_copy / "Pulumi.prod.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines, 1) if "accountId:" in line)
    lines.insert(first, lines[first - 1].split(":")[0] + ":accountId: '999999999999'")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as raised:
        load_stack_config(project_copy, "prod")
    assert f"{path}:{first + 1}: duplicate key" in str(raised.value)
    assert f"first defined on line {first}" in str(raised.value)


def test_check_exits_2_naming_the_file_for_each_problem(
    project_copy: Path, run_cli: Callable[..., Any]
) -> None:
    path = project_copy / "Pulumi.dev.yaml"
    original = path.read_text(encoding="utf-8")
    account = next(line for line in original.splitlines() if "accountId:" in line)
    digits = account.split(":")[-1].strip().strip("'\"")
    path.write_text(original.replace(account, account.split(":accountId:")[0] + ":accountId: 0" + digits[1:]))
    result = run_cli("check", "--stack", "dev", "--project-dir", str(project_copy))
    assert result.returncode == 2, result.stderr
    assert "is not quoted, so the Pulumi CLI reads it as the number" in result.stderr
    assert str(path) in result.stderr

    path.write_bytes(original.encode("utf-8").replace(b"config:", b"config: # \xe9t\xe9", 1))
    result = run_cli("check", "--stack", "dev", "--project-dir", str(project_copy))
    assert result.returncode == 2
    assert "UnicodeDecodeError" not in result.stderr and "internal error" not in result.stderr
    config_line = original.splitlines().index("config:") + 1
    assert f"{path}:{config_line}: the file is not UTF-8 text" in result.stderr


def test_a_baseline_that_is_not_utf8_is_reported_not_a_crash(
    project_copy: Path, run_cli: Callable[..., Any]
) -> None:
    baseline = project_copy / "policy-pack" / "baselines" / "dev.json"
    baseline.write_bytes(baseline.read_bytes().replace(b"{", b"{\xff", 1))
    result = run_cli("baseline", "--stack", "dev", "--check", "--project-dir", str(project_copy))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "UnicodeDecodeError" not in result.stdout + result.stderr
    assert "dev.json: unreadable (" in result.stdout and "is not UTF-8 text" in result.stdout


@pytest.mark.parametrize("word", ["yes", "No", "on", "OFF"])
def test_a_yaml11_only_boolean_must_be_written_as_true_false_or_quoted(word: str) -> None:
    message = _error(f"tags:\n  enabled: {word}\n")
    assert message.startswith(f"f.yaml:2: {word} is read as ")
    assert f'by the Pulumi CLI; write {"true" if word.lower() in ("yes", "on") else "false"}' in message
    assert parse_yaml(f"tags:\n  enabled: '{word}'\n  other: true\n", "f.yaml")["tags"]["enabled"] == word


def test_a_bare_key_and_its_namespaced_form_are_one_key(project_copy: Path) -> None:
    path = project_copy / "Pulumi.dev.yaml"
    text = path.read_text(encoding="utf-8")
    account = next(line for line in text.splitlines() if ":accountId:" in line)
    bare = account.split(":accountId:")[0].split("ai-data-processing")[0] + "accountId: '999999999999'"
    path.write_text(text.replace(account, account + "\n" + bare), encoding="utf-8")
    first = text.splitlines().index(account) + 1
    with pytest.raises(ConfigurationError) as raised:
        load_stack_config(project_copy, "dev")
    message = str(raised.value)
    assert message.startswith(f"{path}:{first + 1}: duplicate key 'accountId': it is the same key as ")
    assert f"'ai-data-processing:accountId' (line {first})" in message
