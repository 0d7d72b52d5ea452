"""Point 4 (issue 6), CI version: bench/load_test.py shortened to 10 s (16 clients, real server, PostgreSQL).

Zero errors, the audit chain verifies afterwards, and the decisions table holds exactly one decision
(with its audit record) per successful recommendation response. The full 60 s run and its figures are
in docs/reliability.md. ``LOAD_SECONDS`` changes the duration.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SECONDS = int(os.environ.get("LOAD_SECONDS", "10"))


def test_sixteen_clients_mixed_load(tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.load_test", "--clients", "16", "--duration", str(SECONDS), "--json", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=SECONDS + 150,
        check=False,
    )
    assert out.exists(), run.stderr[-3000:]
    figures = json.loads(out.read_text(encoding="utf-8"))
    summary = {k: v for k, v in figures.items() if k not in ("latency_ms", "by_endpoint")}
    assert figures["errors"] == 0, figures["by_endpoint"]
    assert figures["audit_verify"]["ok"] is True, figures["audit_verify"]
    assert figures["successful_recommendations"] > 0, summary
    assert figures["decisions"] == figures["successful_recommendations"] + 1, summary  # + the seed decision
    assert figures["decision_ids_received"] == figures["successful_recommendations"], summary
    assert figures["decisions_without_audit_record"] == 0, summary
    assert figures["recommendation_audit_records"] == figures["decisions"], summary
    assert figures["secrets_in_server_log"] == [], summary
    assert figures["latency_ms"]["all"]["p99_ms"] > 0
    assert figures["ok"] is True and run.returncode == 0, summary
