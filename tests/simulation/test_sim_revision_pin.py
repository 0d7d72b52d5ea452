"""A scenario's baseline may pin a ruleset revision; a pin that does not match the files is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from service.domain.errors import UnknownRuleset
from service.policyfiles import Catalog, default_root
from service.simulation.runner import run_scenario

ROOT = default_root()
REVISION = Catalog.load().compile("wuding-county").revision


def _scenario(tmp_path: Path, ruleset: str) -> Path:
    body = {
        "id": "pinned",
        "title": {"zh": "固定版本", "en": "Pinned revision"},
        "dataset": {"generate": {"projects": 120, "seed": 4}},
        "ruleset": ruleset,
        "sweeps": [
            {"name": "gate", "axes": [{"parameter": "target-review-gate.min_score", "from": 60, "to": 70, "step": 10}]}
        ],
    }
    path = tmp_path / "pinned.yaml"
    path.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    return path


def test_a_pin_equal_to_the_files_revision_runs(tmp_path: Path) -> None:
    document = run_scenario(_scenario(tmp_path, f"wuding-county@{REVISION}"), executor="serial", root=ROOT)
    assert REVISION in str(document)


def test_a_pin_to_another_revision_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnknownRuleset) as caught:
        run_scenario(_scenario(tmp_path, "wuding-county@000000000000"), executor="serial", root=ROOT)
    assert f"the ruleset files here are revision {REVISION}" in str(caught.value)
