"""Rule iam-no-allow-with-not-elements: Allow with NotAction, NotResource or NotPrincipal grants the
complement."""

from __future__ import annotations

from ..core import KINDS, RuleContext, StatementView, first_resource, list_text, statement_check
from ..findings import RuleInfo, Severity

RULE = RuleInfo(
    id="iam-no-allow-with-not-elements",
    title="No Allow with NotAction, NotResource or NotPrincipal",
    description=(
        "Allow combined with NotAction, NotResource or NotPrincipal grants the complement: everything "
        "except the listed items, including everything AWS adds later."
    ),
    default_severity=Severity.HIGH,
    remediation=(
        "Rewrite the statement as an explicit Allow list, and use Deny with Not* only for guard "
        "rails."
    ),
)


@statement_check(RULE, KINDS)
def _rule_not_elements(view: StatementView, ctx: RuleContext) -> None:
    """Allow + Not* grants the complement: everything except the listed items."""
    st = view.st
    if not st.is_allow:
        return
    if st.not_actions is not None and st.actions is None:
        listed = list_text(str(a) for a in st.not_actions)
        ctx.add(RULE.id, Severity.HIGH,
                f"{view.label}: Allow with NotAction [{listed}] grants every other action of every service, "
                "including ones AWS adds later; list the granted actions in Action instead.",
                view, f"NotAction [{listed}]", first_resource(view))
    if st.not_resources is not None and st.resources is None:
        listed = list_text(str(r) for r in st.not_resources)
        ctx.add(RULE.id, Severity.HIGH,
                f"{view.label}: Allow with NotResource [{listed}] grants every other resource; list the "
                "resources in Resource instead.", view, None, f"NotResource [{listed}]")
    if st.not_principal is not None:
        ctx.add(RULE.id, Severity.HIGH,
                f"{view.label}: Allow with NotPrincipal grants access to every principal except the listed "
                "ones (including anonymous users); name the trusted principals in Principal instead.", view)

