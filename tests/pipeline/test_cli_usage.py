"""The CLI as a new user meets it: unknown stacks, broken stacks among good ones, output paths, help text,
tables that fit the terminal, and signals that stop everything the command started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline import ROOT
from pipeline.console import column_widths, table

CLI = Callable[..., subprocess.CompletedProcess[str]]


# --- stacks ----------------------------------------------------------------------------------------------


def test_an_unknown_stack_lists_the_stacks_that_exist(run_cli: CLI) -> None:
    result = run_cli("check", "--stack", "nosuchstack")
    assert result.returncode == 2 and result.stdout == ""
    assert "no stack 'nosuchstack'" in result.stderr
    assert "the stacks are dev, local, prod, staging" in result.stderr
    close = run_cli("check", "--stack", "dev,prd")
    assert close.returncode == 2 and "did you mean 'prod'?" in close.stderr


def test_access_matrix_refuses_an_unknown_stack_and_says_its_default(run_cli: CLI) -> None:
    result = run_cli("access-matrix", "--stack", "stagin")
    assert result.returncode == 2 and "did you mean 'staging'?" in result.stderr
    assert "Traceback" not in result.stderr
    helped = run_cli("access-matrix", "--help")
    assert helped.returncode == 0 and "default: dev" in helped.stdout


def test_check_all_reports_every_stack_when_one_is_broken(project_copy: Path, run_cli: CLI) -> None:
    staging = project_copy / "Pulumi.staging.yaml"
    staging.write_text(staging.read_text(encoding="utf-8") + "config:\n  aws:region: eu-west-1\n")
    result = run_cli("check", "--stack", "all", "--project-dir", str(project_copy))
    assert result.returncode == 2
    assert "== dev: PASS" in result.stdout and "== prod: PASS" in result.stdout
    assert "== staging" not in result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: stack staging could not be checked: ")
    assert f"{staging}:" in last and "duplicate key 'config'" in last

    as_json = run_cli("check", "--stack", "all", "--json", "--project-dir", str(project_copy))
    data = json.loads(as_json.stdout)
    assert as_json.returncode == 2
    assert [s["stack"] for s in data["stacks"]] == ["dev", "prod"]
    assert [e["stack"] for e in data["errors"]] == ["staging"]


def test_a_stack_whose_program_fails_does_not_hide_the_others(project_copy: Path, run_cli: CLI) -> None:
    dev = project_copy / "Pulumi.dev.yaml"
    text = dev.read_text(encoding="utf-8")
    dev.write_text(text.replace("aiActions:", "aiActionz:", 1), encoding="utf-8")
    result = run_cli("check", "--stack", "dev,prod", "--project-dir", str(project_copy))
    assert result.returncode == 2
    assert "== prod: PASS" in result.stdout
    assert "error: stack dev could not be checked:" in result.stderr and "aiActionz" in result.stderr


# --- output paths ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("check", "--stack", "dev", "--sarif", "{missing}/out.sarif"),
        ("promote", "--to", "dev", "--offline", "--summary", "{missing}/summary.md"),
    ],
)
def test_an_output_file_in_a_missing_directory_is_an_error(
    tmp_path: Path, run_cli: CLI, args: tuple[str, ...]
) -> None:
    missing = tmp_path / "no" / "such" / "dir"
    result = run_cli(*(a.format(missing=missing) for a in args))
    assert result.returncode == 2
    assert f"directory {missing} does not exist" in result.stderr
    assert not (tmp_path / "no").exists()


def test_an_output_file_that_is_a_directory_is_an_error(tmp_path: Path, run_cli: CLI) -> None:
    result = run_cli("check", "--stack", "dev", "--sarif", str(tmp_path))
    assert result.returncode == 2 and "is a directory" in result.stderr


# --- tables ----------------------------------------------------------------------------------------------

ROWS = [
    ["ROLE", "ACTIONS", "NOTE"],
    [
        "model-training",
        "kms:Decrypt, s3:GetObject, s3:ListBucket, s3:PutObject, s3:AbortMultipartUpload",
        "-",
    ],
    ["ingest", "s3:PutObject", "a somewhat longer note about this role and its access"],
]


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_a_table_fits_the_width_and_keeps_every_word(width: int) -> None:
    lines = table(ROWS, indent="  ", rule=True, width=width)
    assert all(len(line) <= width for line in lines), "\n".join(lines)
    words = " ".join(lines).split()
    for row in ROWS:
        for cell in row:
            for word in cell.split():
                assert word in words or any(word.startswith(w) for w in words), word


def test_a_wide_enough_table_is_one_line_per_row() -> None:
    lines = table(ROWS, width=None)
    assert len(lines) == len(ROWS)
    assert table(ROWS, width=1000) == lines


def test_narrow_columns_keep_their_width_and_words_stay_whole_when_possible() -> None:
    widths = column_widths([4, 80, 50], [4, 24, 9], available=70)
    assert widths[0] == 4 and sum(widths) <= 70 and min(widths[1:]) >= 24


def test_check_fits_the_terminal_unless_wide(run_cli: CLI) -> None:
    env = dict(os.environ, COLUMNS="100")
    narrow = subprocess.run(
        [sys.executable, "-m", "pipeline", "check", "--stack", "prod"],
        capture_output=True,
        text=True,
        env=env,
    )
    section = narrow.stdout.split("effective permissions", 1)[1].split("\n\n")[0].splitlines()[1:]
    table_lines = [line for line in section if line.startswith("    ")]
    assert narrow.returncode == 0 and table_lines
    assert max(len(line) for line in table_lines) <= 100
    wide = subprocess.run(
        [sys.executable, "-m", "pipeline", "check", "--stack", "prod", "--wide"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert max(len(line) for line in wide.stdout.splitlines()) > 100


# --- signals ---------------------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").exists() else ""
        found.extend(int(p) for p in text.split())
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start_matrix_with_server() -> tuple[subprocess.Popen[str], int]:
    """`access-matrix --server` in a child; returns it once its moto server process exists and answers."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "access-matrix", "--stack", "dev", "--server"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell's background job inherits SIGINT ignored (and the command rightly respects that);
        # the child gets the default disposition a terminal user's command has.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        servers = [c for c in _children(proc.pid) if "moto_aws" in Path(f"/proc/{c}/cmdline").read_text()]
        if servers:
            time.sleep(0.5)  # let it reach the point where it serves the matrix
            return proc, servers[0]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    proc.kill()
    pytest.fail("the moto server never started")


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs /proc to find the child process")
@pytest.mark.parametrize(
    ("signum", "code", "line"),
    [(signal.SIGTERM, 143, "interrupted by SIGTERM"), (signal.SIGINT, 130, "interrupted")],
)
def test_a_signal_stops_the_moto_server_and_exits_with_one_line(signum: int, code: int, line: str) -> None:
    proc, server = _start_matrix_with_server()
    try:
        proc.send_signal(signum)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    assert err.strip() == line, err
    deadline = time.monotonic() + 15
    while _alive(server) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(server), "the moto server outlived the command"


def test_interrupted_is_not_an_exception_a_catch_all_would_swallow() -> None:
    from pipeline.console import Interrupted

    assert not issubclass(Interrupted, Exception)
    assert Interrupted(signal.SIGTERM).exit_code == 143
