"""The engine's memo caches, sorted into catalog caches and result caches, and a way to clear the latter.

A *catalog cache* holds an answer that depends only on the IAM catalog, the hand-kept lists and a
name: a service's actions, a pattern's expansion (``s3:Get*``), whether a condition key applies to an
action, a compiled ARN template. It is what every IAM analyser keeps warm (Parliament memoises its
pattern expansion the same way), and it is shared by every document.

A *result cache* holds an answer about the content of a document: its findings, a statement's action
set, whether a Resource string fits a template, the escalation profile of a statement. Serving a
document from one of these says nothing about how long it takes to analyse it, so the benchmark clears
them (``clear_result_caches``) outside its timed region before each steady-state measurement. They stay
useful in the pack, where several policies judge the same document in one run.

Every ``functools`` cache of the engine's modules is a result cache unless it is listed in
``CATALOG_CACHES``, so a cache added by a new rule is cleared by default.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["CATALOG_CACHES", "clear_result_caches", "engine_caches", "result_caches"]

_PACKAGE = __name__.rpartition(".")[0]

# Qualified names (module.function) of the caches that depend only on the catalog and the lists. A
# whole module may be named with ``.*`` when every cache in it is a catalog cache.
CATALOG_CACHES: frozenset[str] = frozenset(
    {
        f"{_PACKAGE}.catalog.*",  # per-service catalog data, pattern expansion, condition-key look-ups
        f"{_PACKAGE}.lists.*",  # the hand-kept escalation and sensitive-action lists
        f"{_PACKAGE}.conditions.*",  # condition-key types and the services that set each key
        f"{_PACKAGE}.managed_policies._snapshot",  # the bundled AWS managed-policy snapshot
        f"{_PACKAGE}.arn._template_info",  # compiled catalog ARN templates
        f"{_PACKAGE}.arn._template_token_seq",
        f"{_PACKAGE}.arn._template_fields",
        f"{_PACKAGE}.arn._rest_info",
        f"{_PACKAGE}.arn._token_set",  # one catalog template's automaton
        f"{_PACKAGE}.arn.template_set",  # all templates of a service as one automaton
        f"{_PACKAGE}.core.sensitive_actions",  # the lists, as the rules read them
        f"{_PACKAGE}.core.sensitive_universe",
        f"{_PACKAGE}.core.escalation_methods",
        f"{_PACKAGE}.core.escalation_universe",
        f"{_PACKAGE}.action_classes.*",  # permissions writes and guard rails, per catalog action name
        f"{_PACKAGE}.rules.wildcard_actions._pattern_profile",  # size and reach of one action pattern
        f"{_PACKAGE}.rules.wildcard_resources._pattern_split",  # one action pattern's actions, by kind
        f"{_PACKAGE}.rules.known_actions._unknown_action_problem",  # why one action name is unknown
        f"{_PACKAGE}.rules.known_actions._suggest_cached",  # the closest catalog name to a typo
    }
)


def _is_catalog(module: str, name: str) -> bool:
    return f"{module}.{name}" in CATALOG_CACHES or f"{module}.*" in CATALOG_CACHES


def engine_caches() -> Iterator[tuple[str, Any]]:
    """Every functools cache defined at module level in the loaded engine modules, as
    (``module.function``, the cached function)."""
    loaded = tuple(
        sorted(name for name in list(sys.modules) if name == _PACKAGE or name.startswith(_PACKAGE + "."))
    )
    return iter(_caches_of(loaded))


def _caches_of(modules: tuple[str, ...]) -> list[tuple[str, Any]]:
    found = _found.get(modules)
    if found is None:
        found = []
        for module_name in modules:
            module = sys.modules.get(module_name)
            for attr, value in sorted(vars(module).items()) if module is not None else ():
                defined_here = getattr(value, "__module__", "") == module_name
                if defined_here and callable(getattr(value, "cache_clear", None)):
                    found.append((f"{module_name}.{attr}", value))
        _found.clear()
        _found[modules] = found
    return found


_found: dict[tuple[str, ...], list[tuple[str, Any]]] = {}


def result_caches() -> list[str]:
    """Names of the loaded engine caches that hold document-derived results."""
    return [name for name, _ in engine_caches() if not _is_catalog(*name.rsplit(".", 1))]


def clear_result_caches() -> int:
    """Empty every result cache of the loaded engine modules (catalog caches stay warm), and Python's
    own cache of compiled regular expressions, which holds patterns built from document text (a
    NotAction list as one alternation); returns how many engine caches were cleared."""
    re.purge()
    cleared = 0
    for name, fn in engine_caches():
        if not _is_catalog(*name.rsplit(".", 1)):
            fn.cache_clear()
            cleared += 1
    return cleared
