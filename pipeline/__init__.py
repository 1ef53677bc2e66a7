"""Offline policy preview, access matrix and promotion for the ai-data-processing project.

`python -m pipeline check` runs every stack's program under Pulumi's mock runtime and sends the
registered resources to the real CrossGuard pack over its gRPC protocol, so the verdict a
`pulumi preview --policy-pack` would give is available without the CLI or cloud credentials.

One subpackage per stage: `preview` (the offline check and its reports), `emulator` (the access matrix
on moto, `local-up`), `promotion` (dev -> staging -> prod). What they share sits here: `errors`,
`yamlfile` (strict reading of every file), `stackconfig`, `recording` and `program` (the program under
mocks), `console` (tables, output paths, signals).
"""

from __future__ import annotations

from pathlib import Path

ROOT: Path = Path(__file__).resolve().parent.parent
"""The project root (where Pulumi.yaml lives); every path default hangs off it."""

STACKS: tuple[str, ...] = ("dev", "staging", "prod")
"""The environments in promotion order."""

__all__ = ["ROOT", "STACKS"]
