"""Where the shipped files are found: $BUDGET_RULES_HOME, the source tree, or the copies inside an installed wheel.

The wheel itself was checked once by hand (README, "How it is built"): ``pip install .`` into a fresh venv,
then ``budget-rules validate`` and ``budget-rules ruleset list`` outside the source tree.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service import policyfiles


def test_the_source_tree_is_the_default_root_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BUDGET_RULES_HOME", raising=False)
    assert policyfiles.default_root() == policyfiles.PROJECT_ROOT
    assert (policyfiles.default_root() / "policies").is_dir()


def test_budget_rules_home_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BUDGET_RULES_HOME", str(tmp_path))
    assert policyfiles.default_root() == tmp_path


def test_an_installed_package_uses_its_shipped_copies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    site, shipped = tmp_path / "site-packages", tmp_path / "site-packages" / "service" / "shipped"
    (shipped / "policies").mkdir(parents=True)
    monkeypatch.delenv("BUDGET_RULES_HOME", raising=False)
    monkeypatch.setattr(policyfiles, "PROJECT_ROOT", site)  # no policies/ beside the package
    monkeypatch.setattr(policyfiles, "SHIPPED_ROOT", shipped)
    assert policyfiles.default_root() == shipped
    (shipped / "policies").rmdir()  # a broken install: fall back to the package's parent, as before
    assert policyfiles.default_root() == site
