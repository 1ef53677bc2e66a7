"""Closed policy config: an option a policy does not declare is reported, never silently ignored.

The engine cannot be told that a schema is closed: the analyzer protocol's `PolicyConfigSchema` carries only
`properties` and `required`, and the CLI validates a policy's config against `{type: object, properties,
required}`, so `forbidStarOnlyAction` for `forbidStarOnlyActions` would pass and be ignored. The pack
therefore checks it itself: `closed_config` wraps a policy's validator so that, once per pack process
and option, it reports every option the policy does not declare, naming the closest declared one.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pulumi_policy import ReportViolation

Validator = Callable[[Any, ReportViolation], None]


def unknown_option_messages(policy: str, declared: Iterable[str], config: Mapping[str, Any]) -> list[str]:
    """One message per option in `config` that `policy` does not declare, with the closest declared name."""
    options = sorted(declared)
    messages = []
    for key in sorted(k for k in config if k not in options and k != "enforcementLevel"):
        close = difflib.get_close_matches(key, options, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        messages.append(
            f"[config] policy {policy} has no option {key!r}{hint}; its options are: "
            f"{', '.join(options) or 'none'}. Fix the policy pack config file (an unknown option is "
            "otherwise ignored)."
        )
    return messages


def _config(args: Any) -> Mapping[str, Any]:
    try:
        return dict(args.get_config() or {})
    except Exception:  # a config the SDK cannot hand over is judged by the policy itself
        return {}


def closed_config(policy: str, declared: Iterable[str], validate: Validator) -> Validator:
    """`validate`, preceded by the report of any option the policy does not declare (once per option)."""
    options = frozenset(declared)
    reported: set[str] = set()

    def checked(args: Any, report_violation: ReportViolation) -> None:
        for message in unknown_option_messages(policy, options, _config(args)):
            if message not in reported:
                reported.add(message)
                report_violation(message, None)
        validate(args, report_violation)

    checked.__name__ = getattr(validate, "__name__", "validate")
    return checked
