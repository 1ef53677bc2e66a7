"""The pack client starts, configures and queries a pack as the engine does, and reconciles config alike."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pipeline.errors import ConfigurationError, PackError
from pipeline.preview.packclient import (
    PackInfo,
    PolicyConfigValue,
    PolicyInfo,
    PolicyPackProcess,
    engine_properties,
    load_pack_config,
    parse_pack_config,
    reconcile_pack_config,
    validate_schema,
)
from pipeline.program import run_program
from pipeline.recording import RESOURCE_SIG, SIG_KEY, UNKNOWN

FIXTURE = Path(__file__).parent / "fixtures" / "mini"
PACK = FIXTURE / "policy-pack"

INFO = PackInfo(
    name="p",
    version="0.0.1",
    policies=(
        PolicyInfo("a", "A", "advisory", None, "resource"),
        PolicyInfo(
            "b",
            "B",
            "mandatory",
            {
                "properties": {"limit": {"type": "integer", "default": 5}, "mode": {"enum": ["x", "y"]}},
                "required": [],
            },
            "stack",
        ),
    ),
)


# -- config reconciliation (pure) -----------------------------------------------------------------


def test_reconcile_applies_defaults_then_all_then_per_policy() -> None:
    given = parse_pack_config({"all": "mandatory", "a": "disabled", "b": {"mode": "y"}}, "f.json")
    effective, notes = reconcile_pack_config(INFO, given, "f.json")
    assert effective["a"] == PolicyConfigValue("disabled", None)
    assert effective["b"] == PolicyConfigValue("mandatory", {"limit": 5, "mode": "y"})
    assert notes == []


def test_reconcile_without_file_keeps_policy_defaults() -> None:
    effective, _ = reconcile_pack_config(INFO, {}, "none")
    assert effective["a"].enforcement_level == "advisory"
    assert effective["b"].properties == {"limit": 5}


def test_reconcile_rejects_schema_violations_naming_file_and_policy() -> None:
    given = parse_pack_config({"b": {"limit": "ten", "mode": "z"}}, "cfg/prod.json")
    with pytest.raises(ConfigurationError) as err:
        reconcile_pack_config(INFO, given, "cfg/prod.json")
    text = str(err.value)
    assert "cfg/prod.json" in text and 'validating policy config for "p"' in text
    assert "b: limit: Invalid type. Expected: integer, given: string" in text
    assert "mode must be one of the following" in text


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"bb": "advisory"}, "\"bb\" is not a policy of pack p (did you mean 'b'?); its policies are: a, b"),
        ({"zzz": "advisory"}, '"zzz" is not a policy of pack p; its policies are: a, b'),
        (
            {"b": {"limt": 3}},
            'policy "b" has no option "limt" (did you mean \'limit\'?); its options are: limit, mode',
        ),
        ({"a": {"limit": 3}}, 'policy "a" has no option "limit"; its options are: none'),
    ],
)
def test_reconcile_refuses_unknown_policies_and_options(given: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        reconcile_pack_config(INFO, parse_pack_config(given, "f.json"), "f.json")
    assert str(err.value) == f"f.json: {message}"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"a": "sometimes"}, '"sometimes" is not a valid enforcement level'),
        ({"a": 3}, "must be a string or object"),
        ({"a": {"enforcementLevel": 1}}, "must be a string"),
        ([], "must be a JSON object"),
    ],
)
def test_parse_pack_config_errors(data: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_pack_config(data, "f.json")


def test_load_pack_config_reports_bad_json(tmp_path: Path) -> None:
    bad = tmp_path / "c.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="invalid JSON"):
        load_pack_config(bad)


def test_validate_schema_subset() -> None:
    schema = {
        "type": "object",
        "required": ["n"],
        "properties": {
            "n": {"type": "integer", "minimum": 1},
            "l": {"type": "array", "items": {"type": "string"}},
        },
        "additionalProperties": False,
    }
    assert validate_schema(schema, {"n": 2, "l": ["x"]}) == []
    assert validate_schema(schema, {"n": 2.0}) == []  # Struct numbers arrive as floats
    errors = validate_schema(schema, {"l": ["x", 3], "z": 1})
    assert "n is required" in errors
    assert any("l.1: Invalid type" in e for e in errors)
    assert "Additional property z is not allowed" in errors
    assert validate_schema(schema, {"n": 0}) == ["n: Must be greater than or equal to 1"]


def test_engine_properties_resolve_references_and_drop_internal_keys() -> None:
    ref = {SIG_KEY: RESOURCE_SIG, "urn": "urn:pulumi:s::p::t::r", "id": ""}
    props = {"role": ref, "__defaults": [], "nested": [{"x": UNKNOWN}]}
    assert engine_properties(props, {"urn:pulumi:s::p::t::r": "role-id"}) == {
        "role": "role-id",
        "nested": [{"x": UNKNOWN}],
    }
    assert engine_properties({"role": ref}) == {"role": "urn:pulumi:s::p::t::r"}


# -- the process --------------------------------------------------------------------------------


def _pack(
    stack: str = "dev", dry_run: bool = True, config: dict[str, str] | None = None
) -> PolicyPackProcess:
    return PolicyPackProcess(
        PACK, project="mini", stack=stack, dry_run=dry_run, config=config or {}, python=sys.executable
    )


def test_command_and_environment_mirror_the_engine() -> None:
    pack = _pack(config={"mini:accountId": "1"})
    assert pack.command()[1:4] == ["-u", "-m", "pulumi.policy"]
    assert pack.command()[-1] == str(PACK.resolve())
    env = pack.environment()
    assert env["PULUMI_PROJECT"] == "mini" and env["PULUMI_STACK"] == "dev"
    assert env["PULUMI_DRY_RUN"] == "true"
    assert env["PULUMI_CONFIG"] == '{"mini:accountId": "1"}'
    assert "PULUMI_ORGANIZATION" in env


def test_analyze_reports_violations_and_unknowns() -> None:
    run = run_program("dev", preview=True, project_dir=FIXTURE)
    with _pack(config=run.config) as pack:
        info = pack.get_info()
        assert {p.name for p in info.policies} == {
            "fx-no-wildcard-actions",
            "fx-trust",
            "fx-max-roles",
            "iam-preview-verifiable",
        }
        assert info.policy("fx-max-roles").kind == "stack"
        effective, _ = reconcile_pack_config(info, load_pack_config(PACK / "config" / "dev.json"))
        pack.configure(effective)
        pack.configure_stack()
        providers = {r.urn: r for r in run.resources if r.type.startswith("pulumi:providers:")}
        assert pack.analyze(run.resources, providers) == []
        stack_diags = pack.analyze_stack(run.resources, providers)
    (diag,) = stack_diags
    assert diag.policy_name == "iam-preview-verifiable"
    assert diag.cant_run and diag.enforcement_level == "advisory"


def test_configure_changes_the_verdict(tmp_path: Path) -> None:
    """A wildcard action is mandatory per the config; disabling the policy silences it."""
    run = run_program("dev", preview=False, project_dir=FIXTURE)
    policy = next(r for r in run.resources if r.type == "aws:iam/policy:Policy")
    policy.inputs["policy"] = '{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}'
    with _pack(dry_run=False) as pack:
        info = pack.get_info()
        effective, _ = reconcile_pack_config(info, {})
        pack.configure(effective)
        (diag,) = pack.analyze([policy])
        assert diag.policy_name == "fx-no-wildcard-actions"
        assert diag.enforcement_level == "mandatory"
        assert diag.urn == policy.urn
        assert diag.detail == "action s3:* is a wildcard"
        disabled, _ = reconcile_pack_config(info, {"fx-no-wildcard-actions": PolicyConfigValue("disabled")})
        pack.configure(disabled)
        assert pack.analyze([policy]) == []


def test_a_pack_that_prints_before_the_port_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "__main__.py").write_text("print('hello')\n", encoding="utf-8")
    pack = PolicyPackProcess(tmp_path, project="p", stack="s", dry_run=True, python=sys.executable)
    with pytest.raises(PackError, match="invalid port"):
        pack.wait_ready()
    pack.close()


def test_a_crashing_pack_shows_its_stderr(tmp_path: Path) -> None:
    (tmp_path / "__main__.py").write_text("import missing_module_xyz\n", encoding="utf-8")
    pack = PolicyPackProcess(tmp_path, project="p", stack="s", dry_run=True, python=sys.executable)
    with pytest.raises(PackError, match="missing_module_xyz"):
        pack.wait_ready()
    pack.close()


def test_missing_pack_dir_is_a_pack_error(tmp_path: Path) -> None:
    with pytest.raises(PackError, match=r"no __main__\.py"):
        PolicyPackProcess(tmp_path, project="p", stack="s", dry_run=True).start()
