#!/usr/bin/env python3
"""One entry point for developers and CI: sets everything up, then runs the demo, the tests or the checks.

    python3 dev.py demo     # set up .venv, then recommend on the embedded demo county (a table)
    python3 dev.py test     # set up .venv, make sure PostgreSQL is up, run the checks and the whole test suite
    python3 dev.py check    # ruff (lint + format) and mypy --strict over service/

Only the standard library is used here, so it runs on a fresh machine with just Python and git.
durable-rules builds from source: a C compiler and the Python headers must be present (gcc here).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
SUPPORTED = ((3, 11), (3, 12))  # durable-rules does not import on 3.13
PG_HOST, PG_PORT = "127.0.0.1", 5432


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def run(*args: str | Path, check: bool = True, env: dict[str, str] | None = None) -> int:
    return subprocess.run([str(a) for a in args], cwd=ROOT, check=check, env=env).returncode


def find_python() -> str:
    if sys.version_info[:2] in SUPPORTED:
        return sys.executable
    for minor in (12, 11):
        found = shutil.which(f"python3.{minor}")
        if found:
            return found
    sys.exit("[dev] Python 3.11 or 3.12 is needed (durable-rules does not import on 3.13); none was found on PATH")


def ensure_venv() -> None:
    """Create .venv and install the package with its dev extras, again only when pyproject.toml changed."""
    if not (BIN / "python").exists():
        python = find_python()
        say(f"creating .venv with {python}")
        run(python, "-m", "venv", VENV)
        run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    stamp = VENV / ".installed"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    say("installing budget-rules and its development tools into .venv (durable-rules compiles; a minute or two)")
    run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    stamp.write_text(digest)


def postgres_up() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=1):
            return True
    except OSError:
        return False


def ensure_postgres() -> None:
    """The tests run against PostgreSQL too: start the local cluster when it is down."""
    if os.environ.get("BUDGET_RULES_TEST_PG_URL") or postgres_up():
        return
    clusters = Path("/etc/postgresql")
    if shutil.which("pg_ctlcluster") and clusters.is_dir():
        for version in sorted(p.name for p in clusters.iterdir()):
            say(f"starting PostgreSQL {version}")
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=False)
    for _ in range(30):
        if postgres_up():
            return
        time.sleep(1)
    sys.exit(f"[dev] PostgreSQL is not reachable on {PG_HOST}:{PG_PORT}; the tests need it")


def ensure_chromium() -> None:
    """The report and browser tests drive Debian's Chromium (never a downloaded browser build)."""
    if shutil.which("chromium") or Path("/usr/bin/chromium").exists():
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        say("installing Debian's chromium and chromium-driver for the browser tests")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver", "fonts-noto-cjk"], check=False, env=env
        )
    if not Path("/usr/bin/chromium").exists():
        say("warning: /usr/bin/chromium is missing; the browser tests will fail (apt-get install chromium)")


def ensure_axe() -> None:
    """axe-core (npm registry) for the browser tests' accessibility check: tests/web/package.json + lock."""
    folder = ROOT / "tests" / "web"
    if (folder / "node_modules" / "axe-core" / "axe.min.js").exists():
        return
    if not shutil.which("npm"):
        say("warning: npm is missing; the browser tests' accessibility check will fail (apt-get install npm)")
        return
    say("installing axe-core from the npm registry into tests/web/node_modules (npm ci)")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=folder, check=False)


REPORT_PACKAGES = ("libpango-1.0-0", "libpangoft2-1.0-0", "fonts-noto-cjk", "poppler-utils")
"""WeasyPrint's system libraries, a CJK font to embed in the 编制说明 PDF, and pdftotext/pdftoppm for its tests."""

OFFICE_PACKAGES = ("libreoffice-calc-nogui",)
"""LibreOffice (headless) turns the Chinese xlsx export into a PDF in the print set-up test."""


def _apt_install(packages: tuple[str, ...], why: str) -> None:
    if not (shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0):
        say(f"warning: cannot install {' '.join(packages)} ({why}); install them with apt-get")
        return
    say(f"installing Debian's {' '.join(packages)} ({why})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], check=False, env=env)


def ensure_report_tools() -> None:
    """The PDF budget document (WeasyPrint) and its tests need Pango, a CJK font and poppler-utils."""
    if not (shutil.which("pdftotext") and Path("/usr/share/fonts/opentype/noto").is_dir()):
        _apt_install(REPORT_PACKAGES, "PDF budget document and its tests")
    if not (shutil.which("libreoffice") or shutil.which("soffice")):
        _apt_install(OFFICE_PACKAGES, "print set-up check of the xlsx export")


def demo() -> int:
    ensure_venv()
    return run(BIN / "budget-rules", "demo", *sys.argv[2:], check=False)


def test() -> int:
    """The lint and type checks, then every test and every policy's examples; the worst status."""
    ensure_venv()
    ensure_postgres()
    ensure_chromium()
    ensure_axe()
    ensure_report_tools()
    checked = check()
    status = run(BIN / "python", "-m", "pytest", *sys.argv[2:], check=False)
    if status == 0:
        status = run(BIN / "budget-rules", "test", check=False)
    if checked:
        say("the lint or type checks failed (see above)")
    return max(checked, status)


def check() -> int:
    ensure_venv()
    statuses = [
        run(BIN / "ruff", "check", "service", "tests", "bench", check=False),
        run(BIN / "ruff", "format", "--check", "service", check=False),
        run(BIN / "mypy", check=False),
    ]
    return max(statuses)


COMMANDS = {
    "demo": demo,
    "test": test,
    "check": check,
    "setup": lambda: ensure_venv() or 0,
    "report-tools": lambda: ensure_report_tools() or 0,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: python3 dev.py {{{'|'.join(COMMANDS)}}} [args]")
    sys.exit(COMMANDS[sys.argv[1]]())
