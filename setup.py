"""Package data that lives outside ``service/``: the shipped policies, rulesets, scenarios, migrations and demo.

Everything else is declared in pyproject.toml. A wheel built from this tree (``pip install .``) carries
these folders as ``service/shipped/…``, so an installed package finds them without ``BUDGET_RULES_HOME``
(``service.policyfiles.default_root``). The source tree and editable installs read them in place.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = ("policies", "rulesets", "simulations", "migrations", "demo", "schemas")


class BuildPyWithShipped(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the source tree
        target = Path(self.build_lib) / "service" / "shipped"
        for name in SHIPPED:
            if (ROOT / name).is_dir():
                shutil.copytree(
                    ROOT / name, target / name, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
                )


setup(cmdclass={"build_py": BuildPyWithShipped})
