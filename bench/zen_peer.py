"""The peer of ``budget-rules recommend FILE --format json``: the same request file through GoRules zen-engine.

A short script, as a team without our service would write it: load the request, join each line's
department ``overall_score`` as ``dept_score``, evaluate the JDM graph of ../shared/peers/zen/ over all
lines with ``ZenEngine.evaluate_batch``, and write the results as JSON. It does policies 1–8 per line only: no
explanations, no allocation, no overlap review, no idle reclaim (less work than our decision path).

Usage: ``python -m bench.zen_peer GRAPH.jdm.json REQUEST.json OUTPUT.json``. zen-engine is a benchmark-only
dependency (``pip install -e .[bench]``), never imported by the service.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import zen  # type: ignore[import-not-found]

FIELDS = ("project_id", "kind", "requested", "prior_year_budget", "target_review_score", "evaluation_score")


def main(argv: Sequence[str] | None = None) -> int:
    graph_path, request_path, output_path = argv if argv is not None else sys.argv[1:]
    with open(graph_path, encoding="utf-8") as handle:
        graph = json.load(handle)
    engine = zen.ZenEngine({"loader": {"type": "static", "content": {"budget_lines": graph}}})
    with open(request_path, encoding="utf-8") as handle:
        request = json.load(handle)
    scores = {d["department_id"]: d.get("overall_score") for d in request["departments"]}
    inputs: list[dict[str, Any]] = []
    for line in request["projects"]:
        item = {k: line[k] for k in FIELDS if k in line}
        item["dept_score"] = scores.get(line["department_id"])
        inputs.append({"key": "budget_lines", "context": item})
    results = engine.evaluate_batch(inputs)
    lines = []
    for request_line, result in zip(inputs, results, strict=True):
        if not result.get("success"):
            raise SystemExit(f"zen-engine failed on {request_line['context']['project_id']}: {result.get('error')}")
        lines.append({"project_id": request_line["context"]["project_id"], **result["data"]["result"]})
    with open(output_path, "w", encoding="utf-8") as handle:
        json.dump({"lines": lines}, handle, ensure_ascii=False, separators=(",", ":"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
