"""The streamed (bounded-memory) path gives the in-memory result exactly, and the same errors."""

from __future__ import annotations

import copy
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_differential import generate_request

from service.batch import CHUNK, recommend_stream
from service.demo import generate_request as demo_request
from service.domain.decision import recommend
from service.domain.errors import InvalidInput
from service.domain.records import parse_request
from service.engine.durable import DurableRulesMatcher
from service.engine.plain import PlainMatcher
from service.policyfiles import Catalog

RULESET = Catalog.load().compile("wuding-county")
ROOT = Path(__file__).resolve().parent.parent


def streamed(raw: dict[str, Any]) -> str:
    out = io.StringIO()
    recommend_stream(copy.deepcopy(raw), RULESET, PlainMatcher(RULESET), out, decision_id="same")
    return out.getvalue()


def in_memory(raw: dict[str, Any]) -> dict[str, Any]:
    return recommend(parse_request(copy.deepcopy(raw)), RULESET, PlainMatcher(RULESET), decision_id="same")


def same(text: str, result: dict[str, Any]) -> bool:
    """Equal documents, and the streamed layout: one project line a text line."""
    assert len(text.split("\n")) == (len(result["lines"]) + 2 if result["lines"] else 1)
    return json.loads(text) == result


@pytest.mark.parametrize("seed", range(12))
def test_streamed_result_equals_the_in_memory_one(seed: int) -> None:
    raw = generate_request(seed, 300 + 40 * seed)
    if seed % 3 == 0:
        raw.pop("envelope", None)
    assert same(streamed(raw), in_memory(raw))


def test_identical_across_chunk_boundaries_with_cross_line_groups_spanning_chunks() -> None:
    raw = demo_request(CHUNK * 2 + 17, seed=5)
    assert same(streamed(raw), in_memory(raw))


def test_spec_examples_stream_identically() -> None:
    folder = ROOT.parent / "shared" / "spec" / "examples"
    cases = sorted(folder.glob("*.json"))
    if not cases:
        pytest.skip("../shared/spec/examples is not beside the checkout")
    for path in cases:
        raw = json.loads(path.read_text(encoding="utf-8"))["request"]
        assert same(streamed(raw), in_memory(raw)), path.name


def test_invalid_input_raises_every_problem_and_writes_nothing() -> None:
    raw = demo_request(3000, seed=2)
    raw["projects"][5]["requested"] = "-1"
    raw["projects"][2500]["department_id"] = "NOPE"
    raw["projects"][2999]["project_id"] = raw["projects"][0]["project_id"]
    out = io.StringIO()
    with pytest.raises(InvalidInput) as streamed_error:
        recommend_stream(copy.deepcopy(raw), RULESET, DurableRulesMatcher(RULESET), out)
    assert out.getvalue() == ""
    with pytest.raises(InvalidInput) as memory_error:
        parse_request(copy.deepcopy(raw))
    assert sorted(map(str, streamed_error.value.problems)) == sorted(map(str, memory_error.value.problems))
    assert len(streamed_error.value.problems) == 4  # the duplicate is named at both places


def test_the_command_line_streams_to_a_file_atomically(tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    request.write_text(json.dumps(demo_request(500, seed=3), ensure_ascii=False), encoding="utf-8")
    output = tmp_path / "result.json"
    cli = Path(sys.executable).parent / "budget-rules"
    done = subprocess.run(
        [str(cli), "recommend", str(request), "--output", str(output)], capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(output.read_text(encoding="utf-8"))
    assert len(result["lines"]) == len(demo_request(500, seed=3)["projects"])
    assert list(tmp_path.glob("*.part")) == []
