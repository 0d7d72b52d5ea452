"""The ``budget-rules simulate`` command: a Rich progress bar while it runs, a summary table after.

Meant to be registered on the CLI's Typer app (``app.command()(simulate)``); it handles its own
errors the way ``service.cli`` does: invalid files → every problem on stderr, exit 2; a failed run
(e.g. a verification mismatch) → one line on stderr, exit 1.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

EXECUTORS = ("process", "serial", "dask")


def summary_table(document: dict[str, Any]) -> Table:
    """Baseline and variants, then the range of each sweep's curves."""
    table = Table(title=f"{document['scenario']['id']}: {document['scenario']['title']['en']}")
    for column in (
        "evaluation",
        "recommended",
        "cut",
        "reclaimed",
        "reserve",
        "excluded",
        "cancelled",
        "reduced",
        "funded",
    ):
        table.add_column(column, justify="left" if column == "evaluation" else "right")
    rows = [("baseline", document["baseline"]["summary"])] + [(v["name"], v["summary"]) for v in document["variants"]]
    for sweep in document["sweeps"]:
        rows += [(f"{sweep['name']} {_point(p)}", p) for p in (sweep["points"][0], sweep["points"][-1])]
    for name, s in rows:
        t, c = s["totals"], s["counts"]
        table.add_row(
            name,
            t["recommended"],
            t["cut"],
            t["reclaimed"],
            t["reserve"],
            *(str(c[k]) for k in ("excluded", "cancelled", "reduced", "funded")),
        )
    return table


def _point(point: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in point["values"].items())


def simulate(
    scenario: Annotated[Path, typer.Argument(help="a scenario file, e.g. simulations/gate-sweep.yaml")],
    output: Annotated[Path | None, typer.Option(help="folder for results.json, the CSVs and report.html")] = None,
    executor: Annotated[str, typer.Option(help="process (default), serial or dask")] = "process",
    workers: Annotated[int | None, typer.Option(help="local worker processes (default: the CPU count)")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. tcp://10.0.0.5:8786")] = None,
) -> None:
    """Simulate a scenario: variants and sweeps on the vectorized path, sampled lines checked on durable-rules."""
    from service.domain.errors import BudgetRulesError, InvalidInput, InvalidPolicy
    from service.simulation.runner import run_scenario

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if executor not in EXECUTORS:
        err.print(f"error: --executor must be one of {', '.join(EXECUTORS)}", markup=False)
        raise typer.Exit(2)
    if executor == "dask" and scheduler is None:
        err.print("error: --executor dask needs --scheduler ADDRESS", markup=False)
        raise typer.Exit(2)
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    task = progress.add_task("loading", total=None)

    def report(done: int, total: int, message: str) -> None:
        label = "evaluated" if total and done == total and message != "loading dataset" else message
        progress.update(task, completed=done, total=total, description=label)

    try:
        with progress:
            document = run_scenario(
                scenario, executor=executor, workers=workers, scheduler=scheduler, progress=report, output=output
            )
    except (InvalidInput, InvalidPolicy) as error:
        for p in error.problems:
            err.print(str(p), markup=False)
        raise typer.Exit(2) from None
    except (BudgetRulesError, ValueError) as error:
        err.print(f"error: {error}", markup=False)
        raise typer.Exit(1) from None
    except OSError as error:
        err.print(f"error: {error.strerror or error}: {getattr(error, 'filename', '')}", markup=False)
        raise typer.Exit(1) from None
    console.print(summary_table(document))
    v = document["verification"]
    console.print(
        f"verified {v['lines_checked']} sampled lines over {v['evaluations']} evaluations on {v['engine']}: "
        f"{v['mismatches']} differences",
        markup=False,
    )
    if output is not None:
        console.print(f"results in {output} (results.json, CSV tables, report.html)", markup=False)
