"""`make setup` as a new user meets it: the Python version is checked first, a virtualenv made by another
interpreter is rebuilt, and the long first install shows what it is doing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import ROOT

MAKEFILE = ROOT / "Makefile"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def _make(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-f", str(MAKEFILE), "-C", str(cwd), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def _fake_python(path: Path, version: str, prefix: str) -> Path:
    """An executable that answers like an interpreter of `version` installed at `prefix`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    major, minor = (int(x) for x in version.split(".")[:2])
    path.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        f'  --version) echo "Python {version}" ;;\n'
        f"  *version_info*) exit {0 if (major, minor) >= (3, 11) else 1} ;;\n"
        f'  *base_prefix*) echo "{version} {prefix}" ;;\n'
        "  *) exit 1 ;;\n"
        "esac\n",
        encoding="utf-8",
    )
    path.chmod(0o755)
    return path


def test_an_old_python_is_refused_first_with_the_version_it_needs(tmp_path: Path) -> None:
    old = _fake_python(tmp_path / "bin" / "python3.10", "3.10.12", "/opt/python3.10")
    result = _make(tmp_path, "setup", f"PYTHON={old}")
    assert result.returncode != 0
    assert "this project needs Python 3.11 or later" in result.stderr
    assert "Python 3.10.12" in result.stderr
    assert not (tmp_path / ".venv").exists(), "nothing may be installed with the wrong Python"


def test_a_virtualenv_made_by_another_interpreter_is_rebuilt(tmp_path: Path) -> None:
    _fake_python(tmp_path / ".venv" / "bin" / "python", "3.10.12", "/opt/python3.10")
    (tmp_path / ".venv" / ".installed").touch()
    python = os.path.realpath(sys.executable)
    result = _make(tmp_path, "venvs", "VENV_DIRS=.venv", f"PYTHON={python}")
    assert result.returncode == 0, result.stderr
    assert "==> .venv was made by another Python (3.10.12 /opt/python3.10); rebuilding it" in result.stdout
    rebuilt = subprocess.run(
        [
            str(tmp_path / ".venv" / "bin" / "python"),
            "-c",
            "import sys; print(sys.version.split()[0], sys.base_prefix)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert rebuilt == f"{sys.version.split()[0]} {sys.base_prefix}"
    assert not (tmp_path / ".venv" / ".installed").exists(), "the install stamp goes with the old venv"
    again = _make(tmp_path, "venvs", "VENV_DIRS=.venv", f"PYTHON={python}")
    assert again.returncode == 0 and "==>" not in again.stdout, "a matching venv is kept"


def test_every_install_step_says_what_it_does_and_pip_is_not_silenced() -> None:
    text = MAKEFILE.read_text(encoding="utf-8")
    installs = [line for line in text.splitlines() if re.search(r"\$\(PIP\) -r ", line)]
    assert len(installs) == 2
    assert not re.search(r"pip install[^\n]*(--quiet|\s-q\b)", text)
    for target in ("$(STAMP):", "$(PSTAMP):"):
        recipe = text.split(target, 1)[1].split("\n\n", 1)[0]
        assert '@echo "==> installing' in recipe, target
    assert text.index("python-version venvs $(STAMP) $(PSTAMP)") > 0
