"""Rule iam-external-access: a resource policy that grants another AWS account.

This is the core finding of IAM Access Analyzer
(https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-resources.html): a principal of an
account outside the zone of trust (an account id, its root, or a role, user or session in it) can
reach the resource. The zone of trust is the stack's own account plus the environment's
``trustedAccounts``. Service principals are not accounts; ``Principal: "*"`` (public access) and
``NotPrincipal`` belong to ``iam-trust-policy``, except that a ``*`` narrowed to named accounts
(``aws:PrincipalAccount``, ``aws:SourceAccount``) grants those accounts and is judged here.

Without the stack's own account (``Settings.account_id``) no account can be told apart from it, so
nothing is judged: the pack always supplies it from the stack's required ``<project>:accountId``.
"""

from __future__ import annotations

import re

from ..arn import has_unknown, parse_arn
from ..core import RESOURCE, RuleContext, StatementView, condition_narrows, list_text, statement_check
from ..findings import RuleInfo, Severity

RULE = RuleInfo(
    id="iam-external-access",
    title="Resource policies grant no account outside the zone of trust",
    description=(
        "A resource policy (S3, KMS, SQS, SNS, Lambda, ECR, Secrets Manager...) that grants another AWS "
        "account (its id, its root, or a role, user or session in it) gives that account access, the "
        "finding IAM Access Analyzer reports as external access. The stack's own account and the "
        "environment's trustedAccounts are the zone of trust; service principals are not accounts."
    ),
    default_severity=Severity.HIGH,
    remediation=(
        "Grant only principals of this account, or add the account to this environment's trustedAccounts "
        "after review."
    ),
)

_ACCOUNT_ID = re.compile(r"\d{12}")
_ACCOUNT_KEYS = ("aws:principalaccount", "aws:sourceaccount")


def principal_account(value: str) -> str | None:
    """The account a principal value belongs to: a bare account id, or the account field of an IAM or
    STS ARN (root, role, user, assumed-role, federated-user). None for anything else (a service, a
    wildcard or partly unknown account, a malformed value)."""
    text = value.strip()
    if _ACCOUNT_ID.fullmatch(text):
        return text
    arn = parse_arn(text)
    if arn is None or arn.service not in ("iam", "sts") or has_unknown(text):
        return None
    return arn.account if _ACCOUNT_ID.fullmatch(arn.account) else None


def _granted_accounts(view: StatementView) -> list[tuple[str, str]]:
    """(account, principal as written) for every account the statement grants."""
    principal = view.st.principal
    if principal is None or (principal.unknown and not principal.entries):
        return []
    out: list[tuple[str, str]] = []
    for kind, value in principal.entries:
        if kind == "AWS" and isinstance(value, str):
            account = principal_account(value)
            if account is not None:
                out.append((account, value))
    if principal.any or any(kind == "AWS" and value == "*" for kind, value in principal.entries):
        for cond in view.st.conditions:
            if cond.key.lower() in _ACCOUNT_KEYS and condition_narrows(cond, lambda _k: True):
                out.extend((str(v), f"* with {cond.key} {v}") for v in cond.values
                           if isinstance(v, str) and _ACCOUNT_ID.fullmatch(v))
    return out


@statement_check(RULE, frozenset({RESOURCE}))
def _rule_external_access(view: StatementView, ctx: RuleContext) -> None:
    """Allow statements of a resource policy whose principals belong to an account outside the zone
    of trust."""
    own = ctx.settings.account_id
    if not view.st.is_allow or not own:
        return
    trusted = {own, *ctx.settings.trusted_accounts}
    external: dict[str, list[str]] = {}
    for account, written in _granted_accounts(view):
        if account not in trusted:
            external.setdefault(account, []).append(written)
    if not external:
        return
    actions = [a for a in (view.st.actions or view.st.not_actions or ()) if isinstance(a, str)]
    verb = "every action except " if view.st.actions is None and view.st.not_actions is not None else ""
    what = f"{verb}{list_text(actions, 4)}" if actions else "its actions"
    for account, written in external.items():
        ctx.add(RULE.id, Severity.HIGH,
                f"{view.label}: grants account {account} ({list_text(written, 3)}) {what} on this resource; "
                f"that account is outside the zone of trust (this stack's account {own}, trustedAccounts "
                f"{', '.join(sorted(ctx.settings.trusted_accounts)) or 'none'}). Grant principals of this "
                "account, or add the account to trustedAccounts after review.",
                view, actions[0] if actions else None, written[0])
