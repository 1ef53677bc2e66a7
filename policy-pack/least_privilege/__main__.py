"""Command line: ``python -m least_privilege lint FILE... [--kind ...] [--json] [--fail-on ...]
[--account ID] [--trusted-account ID]...``.

Checks standalone policy documents with the same engine the CrossGuard pack uses. A file holding
malformed JSON is a finding, not an error; exit codes: 0 nothing reaches ``--fail-on``, 1 something
does, 2 usage or I/O errors (argparse already exits 2 on usage errors).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from .findings import Finding, Severity

_KINDS = ("auto", "identity", "trust", "resource")
_LEVELS = ("low", "medium", "high", "critical")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m least_privilege",
                                     description="IAM least-privilege checks for policy documents.")
    sub = parser.add_subparsers(dest="command", required=True)
    lint = sub.add_parser("lint", help="check policy document files ('-' reads standard input)")
    lint.add_argument("files", nargs="+", metavar="FILE")
    lint.add_argument("--kind", choices=_KINDS, default="auto",
                      help="document kind; auto: Principal present -> trust if it grants sts:Assume*, "
                           "else resource; no Principal -> identity")
    lint.add_argument("--json", action="store_true", help="print machine-readable JSON")
    lint.add_argument("--fail-on", choices=_LEVELS, default="medium",
                      help="exit 1 when a finding reaches this severity (default: medium)")
    lint.add_argument("--account", metavar="ID",
                      help="the account the documents belong to (12 digits): its own principals are not "
                           "cross-account or external access; without it external access is not judged")
    lint.add_argument("--trusted-account", metavar="ID", action="append", default=[],
                      help="another account resource policies may grant (repeatable)")
    return parser


def _read(path: str, stdin: Any) -> bytes:
    if path == "-":
        data = stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read()
        return data.encode("utf-8") if isinstance(data, str) else data
    with open(path, "rb") as fh:
        return fh.read()


def _text_document(raw: bytes) -> str | bytes:
    """Decode as UTF-8 when possible (BOM tolerated); otherwise hand the bytes to the engine, which
    reports the encoding problem as a finding."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw


def lint(paths: Sequence[str], kind: str, fail_on: Severity, as_json: bool, out: TextIO, err: TextIO,
         stdin: Any = None, settings: Any = None) -> int:
    """Run the checks and print results; returns the process exit code."""
    from .analysis import DEFAULT_SETTINGS, check_document  # imported here so `--help` stays instant

    settings = settings if settings is not None else DEFAULT_SETTINGS
    results: list[dict[str, Any]] = []
    io_error = False
    failed = False
    for path in paths:
        try:
            raw = _read(path, stdin if stdin is not None else sys.stdin)
        except OSError as exc:
            io_error = True
            print(f"{path}: cannot read: {exc.strerror or exc}", file=err)
            results.append({"path": path, "kind": None, "findings": [], "error": str(exc.strerror or exc)})
            continue
        doc_kind, findings = check_document(_text_document(raw), kind, settings)
        findings = sorted(findings, key=lambda f: (-int(f.severity), f.rule, f.statement or ""))
        if any(f.severity >= fail_on for f in findings):
            failed = True
        results.append({"path": path, "kind": doc_kind, "findings": [f.to_dict() for f in findings]})
        if not as_json:
            _print_text(path, doc_kind, findings, out)
    if as_json:
        _write_json(results, out)
    if io_error:
        return 2
    return 1 if failed else 0


def _write_json(results: list[dict[str, Any]], out: TextIO) -> None:
    """``{"files": [...]}`` with one file per line: readable, and written by json's C encoder (an
    indented dump goes through the pure-Python one, which costs more than checking the documents)."""
    out.write('{"files": [\n')
    out.write(",\n".join(json.dumps(entry, ensure_ascii=False) for entry in results))
    out.write("\n]}\n")


def _print_text(path: str, kind: str, findings: list[Finding], out: TextIO) -> None:
    if not findings:
        print(f"{path} ({kind}): no findings", file=out)
        return
    print(f"{path} ({kind}): {len(findings)} finding(s)", file=out)
    for f in findings:
        print(f"  [{f.severity.label}] {f.rule}: {f.message}", file=out)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "lint":
        from .settings import settings_from_config

        if args.account is not None and not (len(args.account) == 12 and args.account.isdigit()):
            print(f"python -m least_privilege lint: --account: {args.account!r} is not a 12-digit AWS "
                  "account id", file=sys.stderr)
            return 2
        options: dict[str, Any] = {"trustedAccounts": args.trusted_account}
        if args.account is not None:
            options["accountId"] = args.account
        try:
            settings = settings_from_config(options)
        except ValueError as exc:
            message = str(exc).replace("trustedAccounts", "--trusted-account")
            print(f"python -m least_privilege lint: {message}", file=sys.stderr)
            return 2
        return lint(args.files, args.kind, Severity.parse(args.fail_on), args.json, sys.stdout, sys.stderr,
                    settings=settings)
    return 2  # pragma: no cover - argparse enforces the sub-command


if __name__ == "__main__":
    # A lint process is short and its garbage is freed by reference counting (the engine builds no
    # cycles in bulk); the cyclic collector's repeated scans of the loaded catalog, tens of thousands of
    # objects, cost about a quarter of a run over many files, for the same peak memory.
    gc.disable()
    sys.exit(main())
