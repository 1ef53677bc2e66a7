"""Rewrite (or, with --check, verify) the README's generated table of resource types.

    .venv/bin/python policy-pack/scripts/render_resource_types.py           # rewrite README.md
    .venv/bin/python policy-pack/scripts/render_resource_types.py --check   # exit 1 when out of date

The table comes from the installed pulumi-aws and pulumi-aws-native SDKs and the adapters' decisions
(``adapters.coverage``), so it needs the project venv (the SDKs are not in the pack's own venv).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PACK_DIR = Path(__file__).resolve().parents[1]
README = PACK_DIR.parent / "README.md"
sys.path.insert(0, str(PACK_DIR))

from adapters import coverage  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report whether README.md is up to date")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    updated = coverage.replace_block(text, coverage.markdown(coverage.decisions()))
    if args.check:
        if updated != text:
            print(f"{README}: the resource-types table is out of date; run {Path(__file__).name}")
            return 1
        return 0
    README.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
