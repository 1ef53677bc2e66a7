"""Calls into the engine with each policy's own settings, memoised across the pack's policies.

The rule modules load with the pack (each policy's metadata lives beside its rule, about 80 ms of
the pack's cold start); the catalog data and the managed-policy snapshot load on first use.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any, Final

from adapters.model import IDENTITY, RESOURCE, TRUST, Context, Document, ResourceView
from least_privilege import UNKNOWN, is_unknown
from least_privilege.findings import DEPLOYABLE_DOCUMENTS, EXTERNAL_ACCESS, TRUST_POLICY, Finding

# Config keys every finding policy has; they do not change what the engine finds.
COMMON_KEYS: Final = ("severityOverride", "minimumSeverity", "exceptions")
# Rules whose judgement depends on the stack's own account (same-account is not cross-account).
_ACCOUNT_RULES: Final = frozenset({TRUST_POLICY, EXTERNAL_ACCESS})


def analysis() -> Any:
    """The engine's analysis module, imported on first use to keep the pack's cold start short."""
    from least_privilege import analysis as module

    return module


def _stack_config() -> dict[str, Any]:
    """The stack's config as the CLI passed it (PULUMI_CONFIG), parsed once per value: it holds the
    whole stack config (every role), and the policies ask for it on every resource. Read-only."""
    environb = getattr(os, "environb", None)  # POSIX: the same bytes object while unchanged (hash once)
    raw = environb.get(b"PULUMI_CONFIG") if environb is not None else os.environ.get("PULUMI_CONFIG")
    return _parsed_stack_config(raw or "{}")


@lru_cache(maxsize=4)
def _parsed_stack_config(raw: bytes | str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def stack_account_id() -> str | None:
    """The stack's account id from its config (PULUMI_CONFIG, `<project>:accountId`), if any.

    With it, a trust of the stack's own account root is same-account rather than cross-account.
    """
    for key, value in _stack_config().items():
        if isinstance(key, str) and key.endswith(":accountId") and isinstance(value, str) and value:
            return value
    return None


def stack_context() -> Context:
    """Account and region of the stack (for ARNs the adapters spell), with neutral defaults."""
    region = _stack_config().get("aws:region") or _stack_config().get("aws-native:region")
    default = Context()
    return Context(
        account=stack_account_id() or default.account,
        region=region if isinstance(region, str) and region else default.region,
    )


def settings_for(rule: str, config: Mapping[str, Any]) -> Any:
    """Engine Settings for one policy, from that policy's own config (each policy sees only its own)."""
    settings = analysis().settings_from_config(config)
    if settings.account_id is None and rule in _ACCOUNT_RULES:
        account = stack_account_id()
        if account:
            settings = dataclasses.replace(settings, account_id=account)
    return settings


def settings_key(rule: str, config: Mapping[str, Any]) -> str:
    """A cache key for what in a policy's config changes the engine's answer."""
    relevant = {k: config[k] for k in sorted(config) if k not in COMMON_KEYS}
    if rule in _ACCOUNT_RULES:
        relevant["#account"] = stack_account_id()
    return json.dumps(relevant, sort_keys=True, default=str) if relevant else ""


_CACHE_LIMIT: Final = 2048
_cache: dict[tuple[str, str, str], tuple[Finding, ...]] = {}
_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Forget memoised engine answers (tests that patch the engine call this)."""
    with _cache_lock:
        _cache.clear()


def _doc_key(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=repr)


def cached(kind: str, value: Any, skey: str, compute: Callable[[], list[Finding]]) -> tuple[Finding, ...]:
    """Memoise engine results: every policy of the pack checks the same documents of a resource."""
    key = (kind, _doc_key(value), skey)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    result = tuple(compute())
    with _cache_lock:
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[key] = result
    return result


def check(kind: str, document: Any, rule: str, config: Mapping[str, Any]) -> tuple[Finding, ...]:
    """The engine's findings for one document of one kind, under one policy's settings."""
    engine = analysis()
    entry = {
        IDENTITY: engine.check_identity_policy,
        TRUST: engine.check_trust_policy,
        RESOURCE: engine.check_resource_policy,
    }[kind]
    return cached(
        kind, document, settings_key(rule, config), lambda: entry(document, settings_for(rule, config))
    )


def check_policy_arn(arn: str, rule: str, config: Mapping[str, Any]) -> tuple[Finding, ...]:
    """The engine's findings for one attached policy ARN (AWS-managed policies are judged)."""
    engine = analysis()
    return cached(
        "arn",
        arn,
        settings_key(rule, config),
        lambda: engine.check_managed_policy_arn(arn, settings_for(rule, config)),
    )


def view_findings(view: ResourceView, rule: str, config: Mapping[str, Any]) -> Iterator[tuple[str, Finding]]:
    """Engine findings for the known parts of a resource view, each with where it came from.

    Permissions boundaries are not judged as grants (a boundary only limits); customer-managed
    policies attached by name are judged where they are defined.
    """
    for doc in view.documents:
        if doc.value is UNKNOWN:
            continue
        for finding in check(doc.kind, doc.value, rule, config):
            yield doc.location, finding
        if rule == DEPLOYABLE_DOCUMENTS:
            for finding in check_quotas(doc, config):
                yield doc.location, finding
    for att in view.attachments:
        if att.boundary or not isinstance(att.arn, str) or is_unknown(att.arn):
            continue
        for finding in check_policy_arn(att.arn, rule, config):
            yield f"{att.location} {att.arn}", finding


def quota_container(doc: Document) -> tuple[str, str | None] | None:
    """The engine's container kind (and service) of an adapter document, for the size quotas; None
    for documents the pack builds itself (a Lambda permission as a statement) and containers without
    a documented quota."""
    quotas = analysis().deployable_documents
    if doc.kind == TRUST:
        return quotas.TRUST_POLICY, None
    if doc.container == "customer-managed policy":
        return quotas.MANAGED_POLICY, None
    if doc.container.startswith("inline policy of"):
        principal = doc.container.rsplit(" ", 1)[-1]
        inline = {"role": quotas.ROLE_INLINE_POLICY, "user": quotas.USER_INLINE_POLICY,
                  "group": quotas.GROUP_INLINE_POLICY}
        return (inline[principal], None) if principal in inline else None
    if doc.kind == RESOURCE and doc.service and doc.container.endswith("resource policy"):
        return quotas.RESOURCE_POLICY, doc.service
    return None


def check_quotas(doc: Document, config: Mapping[str, Any]) -> tuple[Finding, ...]:
    """Size and statement-count quota findings of one document in its container."""
    container = quota_container(doc)
    if container is None:
        return ()
    kind, service = container
    quotas = analysis().deployable_documents
    return cached(
        f"quota:{kind}:{service}",
        doc.value,
        settings_key(DEPLOYABLE_DOCUMENTS, config),
        lambda: quotas.check_document_quotas(
            doc.value, kind, service, settings_for(DEPLOYABLE_DOCUMENTS, config)
        ),
    )
