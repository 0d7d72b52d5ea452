"""The ``simulate`` command, registered on a Typer app exactly as the CLI is asked to register it."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from service.policyfiles import default_root
from service.simulation.command import simulate

app = typer.Typer()
app.command()(simulate)
app.command("noop")(lambda: None)  # two commands, so the app keeps "simulate" as a sub-command


def test_simulate_prints_a_summary_and_writes_the_results(tmp_path: Path) -> None:
    scenario = default_root() / "simulations" / "what-if.yaml"
    result = CliRunner().invoke(
        app, ["simulate", str(scenario), "--executor", "serial", "--output", str(tmp_path)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "scores-minus-5" in result.output
    assert "0 differences" in result.output
    assert (tmp_path / "report.html").exists()


def test_simulate_refuses_an_invalid_scenario(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\ntitle: {zh: 坏, en: bad}\nruleset: wuding-county\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["simulate", str(bad), "--executor", "serial"])
    assert result.exit_code == 2
    assert "dataset" in result.output


def test_simulate_refuses_an_unknown_executor() -> None:
    result = CliRunner().invoke(app, ["simulate", "x.yaml", "--executor", "cloud"])
    assert result.exit_code == 2
