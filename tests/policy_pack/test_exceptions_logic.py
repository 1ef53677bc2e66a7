"""Reviewed exceptions, the pure part: parsing, matching, expiry on a fixed clock, the run ledger,
lifetime, the accepted-message format and the narrowing rules used by promotion."""

from __future__ import annotations

import datetime as dt
import fnmatch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_exceptions import (
    EXCEPTION_ITEM_SCHEMA,
    TODAY_ENV,
    ClockError,
    ExceptionLedger,
    FindingSubject,
    PolicyException,
    accepted_message,
    applies_to,
    decide,
    exceptions_from_pack_config,
    expired_note,
    glob_covers,
    lifetime_problem,
    match_accepts,
    match_covers,
    parse_accepted_message,
    parse_exceptions,
    today_from_environment,
    widening,
    widenings,
)

TODAY = dt.date(2026, 12, 1)
POLICY = "iam-no-wildcard-resources"
URN = "urn:pulumi:dev::ai-data-processing::acme:ml:DataRole$aws:iam/rolePolicy:RolePolicy::vendor-sync-s3"


def entry(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "EX-12",
        "resource": "vendor-sync-*",
        "reason": "vendor lists buckets until its v3 release",
        "owner": "ml-platform",
        "expires": "2027-01-31",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def exc(**overrides: object) -> PolicyException:
    parsed = parse_exceptions(str(overrides.pop("policy", POLICY)), [entry(**overrides)])
    assert not parsed.problems, parsed.problems
    return parsed.exceptions[0]


def subject(message: str = "[high] Statement[0]: s3:GetObject on *: ...", **kw: str | None) -> FindingSubject:
    values: dict[str, str | None] = {"resource_name": "vendor-sync-s3", "urn": URN, "role_name": None}
    values.update(kw)
    return FindingSubject(
        POLICY, message, values["resource_name"] or "", values["urn"] or "", values["role_name"]
    )


# --- parsing ---------------------------------------------------------------------------------------


def test_a_complete_entry_parses_with_its_policy_and_date() -> None:
    parsed = parse_exceptions(POLICY, [entry(match="s3:GetObject")])
    assert parsed.problems == ()
    (e,) = parsed.exceptions
    assert (e.policy, e.id, e.resource, e.match, e.expires) == (
        POLICY,
        "EX-12",
        "vendor-sync-*",
        "s3:GetObject",
        dt.date(2027, 1, 31),
    )
    assert e.to_dict()["expires"] == "2027-01-31"


@pytest.mark.parametrize("missing", ["id", "resource", "reason", "owner", "expires"])
def test_each_required_field_is_enforced(missing: str) -> None:
    parsed = parse_exceptions(POLICY, [entry(**{missing: None})])
    assert parsed.exceptions == ()
    assert any(f"{missing} is required" in p for p in parsed.problems)
    assert parsed.problems[0].startswith(f"{POLICY}.exceptions[0]")
    assert missing in EXCEPTION_ITEM_SCHEMA["required"]


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"expires": "31/01/2027"}, "not a YYYY-MM-DD date"),
        ({"expires": "2027-02-30"}, "not a YYYY-MM-DD date"),
        ({"expires": "20270131"}, "not a YYYY-MM-DD date"),
        ({"reason": "  "}, "reason must be a non-empty string"),
        ({"owner": 7}, "owner must be a non-empty string"),
        ({"reason": "two\nlines"}, "reason must be a single line"),
        ({"id": "EX 12"}, "id 'EX 12' must be"),
        ({"resource": "*"}, "matches every resource"),
        ({"resource": "?*[a-z]"}, "matches every resource"),
        ({"match": ""}, "match must be a non-empty string"),
        ({"scope": "x"}, "unknown key 'scope'"),
    ],
)
def test_invalid_entries_are_problems_naming_policy_entry_and_id(overrides: dict, problem: str) -> None:
    parsed = parse_exceptions(POLICY, [entry(**overrides)])
    assert parsed.exceptions == ()
    assert len(parsed.problems) >= 1
    assert any(problem in p for p in parsed.problems), parsed.problems
    assert parsed.problems[0].startswith(f"{POLICY}.exceptions[0]")


def test_duplicate_ids_and_wrong_shapes_are_problems_and_valid_siblings_survive() -> None:
    parsed = parse_exceptions(POLICY, [entry(), entry(resource="other"), "EX-3", entry(id="EX-4")])
    assert [e.id for e in parsed.exceptions] == ["EX-12", "EX-4"]
    assert any("used twice" in p for p in parsed.problems)
    assert any("exceptions[2]: must be an object" in p for p in parsed.problems)
    assert parse_exceptions(POLICY, {"id": "x"}).problems == (
        f"{POLICY}.exceptions: must be a list of objects",
    )
    assert parse_exceptions(POLICY, None).exceptions == ()


def test_pack_config_collects_every_policy_and_ignores_plain_levels() -> None:
    config = {
        "all": "mandatory",
        POLICY: {"enforcementLevel": "mandatory", "exceptions": [entry()]},
        "iam-trust-policy": {"exceptions": [entry(id="EX-1", resource="ingest-worker")]},
        "iam-known-actions": "advisory",
    }
    parsed = exceptions_from_pack_config(config)
    assert sorted(e.key for e in parsed.exceptions) == [(POLICY, "EX-12"), ("iam-trust-policy", "EX-1")]


# --- the clock -------------------------------------------------------------------------------------


def test_today_is_pinned_by_the_environment_variable_and_rejects_bad_dates() -> None:
    assert today_from_environment({TODAY_ENV: "2027-02-01"}) == dt.date(2027, 2, 1)
    assert today_from_environment({}) == dt.datetime.now(dt.UTC).date()
    with pytest.raises(ClockError, match=TODAY_ENV):
        today_from_environment({TODAY_ENV: "tomorrow"})


# --- matching --------------------------------------------------------------------------------------


def test_resource_glob_matches_the_logical_name() -> None:
    assert applies_to(exc(resource="vendor-sync-*"), subject(urn=""))
    assert not applies_to(exc(resource="vendor-sync"), subject(urn=""))


def test_resource_glob_matches_the_urn() -> None:
    e = exc(resource="urn:pulumi:dev::*::vendor-sync-s3")
    assert applies_to(e, subject(resource_name="something-else"))
    assert not applies_to(e, subject(resource_name="x", urn=URN.replace("dev::", "prod::")))


def test_stack_findings_also_match_the_role_name() -> None:
    e = exc(resource="model-training")
    assert applies_to(e, subject(resource_name="mt-role", urn="urn:x::mt-role", role_name="model-training"))
    assert not applies_to(e, subject(resource_name="mt-role", urn="urn:x::mt-role", role_name=None))


def test_glob_is_case_sensitive_and_other_policies_never_match() -> None:
    assert not applies_to(exc(resource="Vendor-sync-*"), subject(urn=""))
    other = FindingSubject("iam-no-wildcard-actions", "s3:GetObject", "vendor-sync-s3", URN)
    assert not applies_to(exc(), other)


@pytest.mark.parametrize(
    ("match", "message", "accepted"),
    [
        ("s3:GetObject", "Statement[0]: s3:GetObject on *: ...", True),
        ("S3:getobject", "Statement[0]: s3:GetObject on *: ...", True),  # IAM actions are case-insensitive
        ("s3:GetObject", "Statement[0]: s3:GetObjectAcl on *: ...", False),  # whole token only
        ("s3:GetObject", "Statement[0]: xs3:GetObject on *", False),
        ("s3:GetObject", "s3:ListAllMyBuckets, s3:GetObject on *", True),
        ("s3:Get*", "Statement[0]: s3:GetObject on *", False),  # the literal action, not a pattern
        ("s3:Get*", "Statement[0]: s3:Get* expands to 30 actions", True),
        ("ListAllMyBuckets", "s3:ListAllMyBuckets on *: allowed", True),  # text: substring
        ("every resource", 'Resource "*" (EVERY RESOURCE)', True),
        ("cross-account", "trust of a service principal", False),
        (None, "anything at all", True),
    ],
)
def test_match_narrows_to_an_action_token_or_text(match: str | None, message: str, accepted: bool) -> None:
    assert match_accepts(match, message) is accepted
    assert applies_to(exc(match=match), subject(message)) is accepted


# --- expiry ----------------------------------------------------------------------------------------


def test_expiry_on_a_fixed_clock_the_expiry_day_is_already_expired() -> None:
    e = exc(expires="2027-01-31")
    assert decide([e], subject(), dt.date(2027, 1, 30)).accepted_by == e
    on_the_day = decide([e], subject(), dt.date(2027, 1, 31))
    assert on_the_day.accepted_by is None and on_the_day.expired == (e,)
    assert decide([e], subject(), dt.date(2027, 3, 1)).expired == (e,)


def test_an_active_exception_wins_over_an_expired_one_and_config_order_decides() -> None:
    old = exc(id="EX-1", expires="2026-11-01")
    first = exc(id="EX-2", expires="2027-01-01")
    second = exc(id="EX-3", expires="2027-06-01")
    decision = decide([old, first, second], subject(), TODAY)
    assert decision.accepted_by == first
    assert decision.expired == (old,)


def test_messages_name_the_exception_and_round_trip() -> None:
    e = exc(match="s3:GetObject")
    text = accepted_message(e, "[high] Statement[0]: s3:GetObject on *")
    assert text.startswith(
        "accepted by exception EX-12 (ml-platform, expires 2027-01-31): "
        "vendor lists buckets until its v3 release"
    )
    back = parse_accepted_message(text)
    assert back is not None
    assert (back.id, back.owner, back.expires, back.policy, back.finding) == (
        "EX-12",
        "ml-platform",
        "2027-01-31",
        POLICY,
        "[high] Statement[0]: s3:GetObject on *",
    )
    assert parse_accepted_message("[high] Statement[0]: s3:GetObject on *") is None
    assert parse_accepted_message("Findings accepted by reviewed exceptions.\n" + text) == back
    note = expired_note([e])
    assert "EX-12 (ml-platform) expired on 2027-01-31" in note and "no longer applies" in note


# --- lifetime and the ledger ------------------------------------------------------------------------


def test_lifetime_is_bounded_by_max_days_from_today() -> None:
    e = exc(expires="2027-03-01")  # 90 days after 2026-12-01
    assert lifetime_problem(e, TODAY, 90) is None
    assert lifetime_problem(e, TODAY, None) is None
    problem = lifetime_problem(e, TODAY, 89)
    assert problem is not None and "90 days" in problem and "at most 89 days" in problem
    assert lifetime_problem(exc(expires="2026-01-01"), TODAY, 1) is None  # expired: reported as expired


def test_ledger_finds_unused_and_expired_and_lists_each_acceptance_once() -> None:
    ledger = ExceptionLedger()
    config = {
        "exceptions": [entry(), entry(id="EX-13", resource="never-*"), entry(id="EX-9", expires="2026-01-01")]
    }
    found = ledger.register(POLICY, config)
    assert [e.id for e in found] == ["EX-12", "EX-13", "EX-9"]
    assert ledger.register(POLICY, config) == found  # same config: same objects, parsed once
    used = found[0]
    ledger.record(used, subject(), accepted=True)
    ledger.record(used, subject(), accepted=True)  # the same finding analysed twice
    assert [(e.id, s.resource_name) for e, s in ledger.accepted()] == [("EX-12", "vendor-sync-s3")]
    assert [e.id for e in ledger.unused(TODAY)] == ["EX-13"]
    assert [e.id for e in ledger.expired(TODAY)] == ["EX-9"]
    ledger.register("iam-trust-policy", {"exceptions": [{"id": "EX-1"}]})
    assert any("iam-trust-policy.exceptions[0] (EX-1): resource is required" in p for p in ledger.problems())


# --- narrowing (promotion) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("broad", "narrow", "covered"),
    [
        ("vendor-*", "vendor-*", True),
        ("vendor-*", "vendor-sync", True),
        ("vendor-*", "vendor-sync-*", True),
        ("*-sync-*", "vendor-sync-s3", True),
        ("vendor-sync-*", "vendor-*", False),
        ("vendor-?", "vendor-[ab]", True),
        ("vendor-[a-c]", "vendor-[ab]", True),
        ("vendor-[ab]", "vendor-[a-c]", False),
        ("vendor-[ab]", "vendor-?", False),
        ("vendor-*", "urn:*::vendor-x", False),
        ("urn:pulumi:*", "urn:pulumi:prod::*::vendor-x", True),
        ("a?c", "a*c", False),
    ],
)
def test_glob_covers(broad: str, narrow: str, covered: bool) -> None:
    assert glob_covers(broad, narrow) is covered


_ALPHABET = "ab-"
_glob = st.text(alphabet=_ALPHABET + "*?", min_size=1, max_size=6) | st.builds(
    lambda a, b: a + "[ab]" + b, st.text(_ALPHABET, max_size=2), st.text(_ALPHABET + "*", max_size=2)
)


@settings(max_examples=300, deadline=None)
@given(broad=_glob, narrow=_glob, samples=st.lists(st.text(alphabet=_ALPHABET, max_size=7), max_size=25))
def test_glob_covers_is_sound(broad: str, narrow: str, samples: list[str]) -> None:
    """Whenever it says covered, every string the narrow glob matches, the broad one matches too."""
    if glob_covers(broad, narrow):
        for text in samples:
            if fnmatch.fnmatchcase(text, narrow):
                assert fnmatch.fnmatchcase(text, broad), (broad, narrow, text)


@pytest.mark.parametrize(
    ("broad", "narrow", "covered"),
    [
        (None, None, True),
        (None, "s3:GetObject", True),
        ("s3:GetObject", None, False),
        ("s3:GetObject", "S3:GETOBJECT", True),
        ("s3:GetObject", "s3:GetObjectAcl", False),
        ("s3:Get*", "s3:GetObject", False),  # an action match is a literal token, never a pattern
        ("GetObject", "s3:GetObject", True),  # text contained in the narrower action
        ("GetObject", "s3:GetObject on *", True),
        ("s3:GetObject on *", "GetObject", False),
        ("s3:GetObject", "s3:GetObject on *", False),  # text is never provably narrower than an action
    ],
)
def test_match_covers(broad: str | None, narrow: str | None, covered: bool) -> None:
    assert match_covers(broad, narrow) is covered


def test_widening_names_each_way_an_exception_is_wider() -> None:
    staging = exc(resource="vendor-sync-*", match="s3:ListAllMyBuckets", expires="2027-01-31")
    assert widening(exc(resource="vendor-sync-s3", match="s3:ListAllMyBuckets"), staging, "staging") is None
    wider = widening(exc(resource="vendor-*", match=None, expires="2027-02-01"), staging, "staging")
    assert wider is not None and len(wider.reasons) == 3
    assert "not within staging's 'vendor-sync-*'" in wider.reasons[0]
    assert "none (every finding)" in wider.reasons[1]
    assert "after staging's 2027-01-31" in wider.reasons[2]
    new = widenings([exc(id="EX-99")], [staging], "staging")
    assert [w.describe() for w in new] == [
        f"EX-99 on {POLICY} (resource vendor-sync-*, expires 2027-01-31): not in staging"
    ]
    # Same id under another policy is another exception.
    assert widenings([exc(policy="iam-trust-policy")], [staging], "staging")[0].reasons == ("not in staging",)
