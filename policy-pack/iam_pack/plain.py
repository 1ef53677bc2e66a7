"""pulumi_policy proxies -> plain data.

pulumi_policy hands validators proxies that raise ``UnknownValueError`` on any unknown value, and its
servicer turns that exception into an *advisory* "can't run policy during preview", even for a
mandatory policy. So nothing in this pack reads ``props`` through the proxy: :func:`to_plain` copies
it element by element, substituting ``least_privilege.UNKNOWN``, and everything downstream works on
the copy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from least_privilege import UNKNOWN, UNKNOWN_SENTINELS, is_unknown
from pulumi_policy.proxy import UnknownValueError


def to_plain(value: Any) -> Any:
    """Copy pulumi_policy proxies (or plain data) into dicts/lists, unknowns replaced by UNKNOWN.

    Only ``keys()``/``len()`` and index access are used, each element read on its own, because any
    other Mapping operation (``items()``, ``get``, ``in``) reads every value and raises on the first
    unknown, which would lose the known siblings.
    """
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, str | bytes | int | float | bool) or value is None:
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in list(value.keys()):
            try:
                out[str(key)] = to_plain(value[key])
            except UnknownValueError:
                out[str(key)] = UNKNOWN
        return out
    if isinstance(value, Sequence):
        items: list[Any] = []
        for index in range(len(value)):
            try:
                items.append(to_plain(value[index]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    secret_value = getattr(value, "value", None)  # pulumi_policy.Secret (Remediate-style wrapping)
    if secret_value is not None and type(value).__name__ == "Secret":
        return to_plain(secret_value)
    return value


def plain_props(props: Any) -> dict[str, Any]:
    """A resource's properties as a plain dict ({} when they are not a mapping)."""
    plain = to_plain(props)
    return plain if isinstance(plain, dict) else {}


def unknown_paths(value: Any, path: str = "") -> list[str]:
    """Paths of unknown values inside a (plain) document; a JSON string may embed a sentinel."""
    if value is UNKNOWN:
        return [path or "."]
    if isinstance(value, str):
        return [path or "."] if any(s in value for s in UNKNOWN_SENTINELS) else []
    if isinstance(value, Mapping):
        return [p for k in value for p in unknown_paths(value[k], f"{path}.{k}")]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in unknown_paths(v, f"{path}[{i}]")]
    return []
