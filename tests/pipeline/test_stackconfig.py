"""Stack config is merged, defaulted, validated and stringified the way the Pulumi CLI does it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline import ROOT
from pipeline.errors import ConfigurationError
from pipeline.stackconfig import load_project, load_stack_config, qualify_key, role_line, to_runtime_string

FIXTURE = Path(__file__).parent / "fixtures" / "mini"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A writable copy of the mini fixture project."""
    shutil.copy(FIXTURE / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copy(FIXTURE / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    return tmp_path


def test_defaults_and_runtime_strings(project: Path) -> None:
    config = load_stack_config(project, "dev")
    assert config["mini:accountId"] == "111111111111"
    assert config["mini:roleName"] == "worker"  # typed default
    assert config["mini:unknownPolicy"] == "false"  # booleans as the CLI spells them
    assert json.loads(config["mini:actions"]) == ["s3:GetObject"]  # arrays JSON-encoded
    assert config["aws:region"] == "eu-west-1"  # provider value from Pulumi.yaml
    assert all(isinstance(v, str) for v in config.values())


def test_stack_value_overrides_project_value(project: Path) -> None:
    (project / "Pulumi.dev.yaml").write_text(
        "config:\n  aws:region: us-east-2\n  mini:accountId: '1'\n  actions: [a, b]\n", encoding="utf-8"
    )
    config = load_stack_config(project, "dev")
    assert config["aws:region"] == "us-east-2"
    assert json.loads(config["mini:actions"]) == ["a", "b"]  # bare key namespaced to the project


def test_missing_required_key_names_stack_key_and_file(project: Path) -> None:
    (project / "Pulumi.dev.yaml").write_text("config:\n  mini:accountId: '1'\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as err:
        load_stack_config(project, "dev")
    message = str(err.value)
    assert "Stack 'dev' is missing configuration value 'mini:actions'" in message
    assert "Pulumi.dev.yaml" in message


def test_several_missing_keys_are_listed_like_the_cli(project: Path) -> None:
    (project / "Pulumi.dev.yaml").write_text("config: {}\n", encoding="utf-8")
    with pytest.raises(
        ConfigurationError, match="missing configuration values 'mini:accountId' and 'mini:actions'"
    ):
        load_stack_config(project, "dev")


def test_type_mismatch_is_rejected(project: Path) -> None:
    (project / "Pulumi.dev.yaml").write_text(
        "config:\n  mini:accountId: '1'\n  mini:actions: s3:GetObject\n", encoding="utf-8"
    )
    with pytest.raises(ConfigurationError, match=r"'mini:actions' must be of type 'array<string>'"):
        load_stack_config(project, "dev")


def test_encrypted_values_are_refused_with_a_reason(project: Path) -> None:
    (project / "Pulumi.dev.yaml").write_text(
        "config:\n  mini:accountId:\n    secure: AAABAxyz\n  mini:actions: [a]\n", encoding="utf-8"
    )
    with pytest.raises(ConfigurationError, match="encrypted secret"):
        load_stack_config(project, "dev")


def test_missing_stack_file_is_a_configuration_error(project: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"Pulumi\.qa\.yaml: file not found"):
        load_stack_config(project, "qa")


def test_explicit_stack_file_replaces_the_default(project: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.yaml"
    other.write_text("config:\n  mini:accountId: '222222222222'\n  mini:actions: []\n", encoding="utf-8")
    assert load_stack_config(project, "dev", other)["mini:accountId"] == "222222222222"


def test_helpers() -> None:
    assert qualify_key("roles", "p") == "p:roles"
    assert qualify_key("aws:region", "p") == "aws:region"
    assert to_runtime_string({"a": 1}) == '{"a":1}'
    assert to_runtime_string(3600) == "3600"
    assert to_runtime_string(True) == "true"


def test_role_line_finds_the_list_entry(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.x.yaml"
    stack.write_text(
        "config:\n  p:roles:\n    - name: alpha\n    - name: 'beta'  # comment\n", encoding="utf-8"
    )
    assert role_line(stack, "alpha") == 3
    assert role_line(stack, "beta") == 4
    assert role_line(stack, "gamma") is None


def test_stock_project_declares_required_keys() -> None:
    project = load_project(ROOT)
    assert project.name == "ai-data-processing"
    required = {k for k, d in project.declarations.items() if d.required}
    assert "ai-data-processing:roles" in required
    for stack in ("dev", "staging", "prod"):
        config = load_stack_config(ROOT, stack)
        assert isinstance(json.loads(config["ai-data-processing:roles"]), list)
