"""``budget-rules ruleset …``: the ruleset life cycle from the command line, on the service's database.

Wire it into ``service/cli.py`` with::

    from service.lifecycle.cli import ruleset_app
    app.add_typer(ruleset_app, name="ruleset")

Changes (propose, submit, approve, activate, retire) act as the holder of ``--token`` (or
``$BUDGET_RULES_TOKEN``), with the same roles and maker-checker rule as the HTTP API; reading
(list, diff, impact) needs only the database. Exit status: 0 success; 2 invalid files or input (every
problem on stderr, one a line); 1 anything else (a conflict, a refused role, the database down).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from service.app import roles
from service.domain.errors import BudgetRulesError, InvalidInput, InvalidPolicy
from service.policyfiles import DEFAULT_RULESET

ruleset_app = typer.Typer(
    help="Ruleset revisions: propose, diff, impact, approve, activate, retire.", no_args_is_help=True
)
err = Console(stderr=True, highlight=False, soft_wrap=True)

Token = Annotated[str, typer.Option(envvar="BUDGET_RULES_TOKEN", help="your API token (or $BUDGET_RULES_TOKEN)")]
Reason = Annotated[str, typer.Option(help="why (recorded in the audit trail)")]
RulesetOpt = Annotated[str, typer.Option("--ruleset", help="the ruleset id")]


def _fail(lines: list[str], status: int) -> NoReturn:
    for line in lines:
        err.print(line, markup=False)
    raise typer.Exit(status)


@contextmanager
def _errors() -> Iterator[None]:
    from sqlalchemy.exc import OperationalError

    from service.app.error_table import exit_status
    from service.app.errors import AppError

    try:
        yield
    except AppError as error:
        if error.code == "invalid_ruleset":
            lines = [
                f"error: {d.get('source', '')}: {'.'.join(map(str, d['loc']))}: {d['message']}" for d in error.details
            ]
            _fail(lines, exit_status(error) or 2)
        _fail([f"error ({error.code}): {error.message}"], exit_status(error) or 1)
    except (InvalidInput, InvalidPolicy) as error:
        _fail([f"error: {p}" for p in error.problems], exit_status(error) or 2)
    except BudgetRulesError as error:
        _fail([f"error ({error.code}): {error}"], exit_status(error) or 1)
    except OperationalError as error:
        _fail([f"error: the database is unreachable: {error.orig}"], exit_status(error) or 1)


@contextmanager
def _state() -> Iterator[Any]:
    """The service's database (migrated, shipped rulesets installed) and engines, as one worker has them."""
    from service.clistate import service_state

    with service_state() as state:
        yield state


def _actor(state: Any, token: str, allowed: tuple[str, ...]) -> Any:
    from service.clistate import authenticated

    return authenticated(state, token, *allowed)


def _show(row: Any) -> None:
    years = f"{row.active_from_year}–{row.active_to_year or 'onwards'}" if row.active_from_year else "-"
    typer.echo(f"{row.ruleset_id}@{row.revision}  {row.state}  active years {years}  {row.digest}")


@ruleset_app.command("propose")
def propose(
    folder: Annotated[Path, typer.Argument(help="a folder holding policies/ and rulesets/")],
    token: Token,
    reason: Reason,
    ruleset: Annotated[str | None, typer.Option(help="the ruleset id (default: the only file in rulesets/)")] = None,
    draft: Annotated[bool, typer.Option(help="store as a draft instead of proposing it")] = False,
) -> None:
    """Upload a revision: checked as `validate` checks files; errors refuse it, warnings are printed."""
    import json as _json

    from service.app import rulesets as service
    from service.lifecycle.revisions import read_folder

    if ruleset is None:
        found = sorted(p.stem for p in (folder / "rulesets").glob("*.y*ml"))
        if len(found) != 1:
            _fail([f"error: name the ruleset with --ruleset (found: {', '.join(found) or 'none'})"], 2)
        ruleset = found[0]
    with _errors(), _state() as state:
        actor = _actor(state, token, roles.MAINTAINERS)
        row = service.upload(
            state.db, state.settings.audit_secret, actor, ruleset, read_folder(folder, ruleset), reason, draft=draft
        )
        for warning in _json.loads(row.warnings_json):
            err.print(
                f"warning: {warning.get('source', '')}: {'.'.join(map(str, warning['loc']))}: {warning['message']}",
                markup=False,
            )
        _show(row)


def _transition(
    action: str, revision: str, token: str, reason: str, ruleset: str, allowed: tuple[str, ...], **extra: Any
) -> None:
    from service.app import rulesets as service

    with _errors(), _state() as state:
        actor = _actor(state, token, allowed)
        change = getattr(service, action)
        row = change(state.db, state.settings.audit_secret, actor, ruleset, revision, reason, **extra)
        _show(row)


@ruleset_app.command("submit")
def submit(revision: str, token: Token, reason: Reason, ruleset: RulesetOpt = DEFAULT_RULESET) -> None:
    """A draft — or a retired revision, to roll back to it — becomes proposed."""
    _transition("propose", revision, token, reason, ruleset, roles.MAINTAINERS)


@ruleset_app.command("approve")
def approve(revision: str, token: Token, reason: Reason, ruleset: RulesetOpt = DEFAULT_RULESET) -> None:
    """Approve a proposed revision (not your own proposal)."""
    _transition("approve", revision, token, reason, ruleset, roles.APPROVERS)


@ruleset_app.command("activate")
def activate(
    revision: str,
    token: Token,
    reason: Reason,
    ruleset: RulesetOpt = DEFAULT_RULESET,
    from_year: Annotated[int | None, typer.Option(help="first fiscal year (default: the file's)")] = None,
    to_year: Annotated[int | None, typer.Option(help="last fiscal year (default: the file's)")] = None,
    onwards: Annotated[bool, typer.Option("--onwards", help="no last fiscal year")] = False,
    replaces: Annotated[list[str] | None, typer.Option(help="an active revision to retire in the same step")] = None,
) -> None:
    """Make an approved revision decide for its fiscal years, in every worker, without restart."""
    years: dict[str, Any] = {}
    if from_year is not None:
        years["from_year"] = from_year
    if to_year is not None or onwards:
        years["to_year"] = None if onwards else to_year
    _transition("activate", revision, token, reason, ruleset, roles.APPROVERS, years=years, replaces=replaces or [])


@ruleset_app.command("retire")
def retire(revision: str, token: Token, reason: Reason, ruleset: RulesetOpt = DEFAULT_RULESET) -> None:
    """Retire a revision (an active one stops deciding at once)."""
    _transition("retire", revision, token, reason, ruleset, roles.APPROVERS)


@ruleset_app.command("list")
def list_revisions(ruleset: Annotated[str | None, typer.Option(help="only this ruleset")] = None) -> None:
    """Every stored revision with its state and active years."""
    from service.app import rulesets as service

    with _errors(), _state() as state:
        for row in service.list_revisions(state.db, ruleset):
            _show(row)


@ruleset_app.command("diff")
def diff(
    old: Annotated[str, typer.Argument(help="the revision to compare against")],
    new: Annotated[str, typer.Argument(help="the revision to compare")],
    ruleset: RulesetOpt = DEFAULT_RULESET,
    output: Annotated[str, typer.Option("--format", help="zh, en or json")] = "en",
) -> None:
    """What NEW changes relative to OLD: policies, parameters, precedence, rules."""
    from service.app import rulesets as service

    if output not in ("zh", "en", "json"):
        _fail(["error: --format is zh, en or json"], 2)
    with _errors(), _state() as state:
        report = service.diff(state.engines, state.db, ruleset, new, old)
    if output == "json":
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    lines = report["text"][output]
    typer.echo("\n".join(lines) if lines else ("两个版本相同" if output == "zh" else "no differences"))


@ruleset_app.command("impact")
def impact(
    revision: Annotated[str, typer.Argument(help="the proposed revision")],
    ruleset: RulesetOpt = DEFAULT_RULESET,
    dataset: Annotated[str | None, typer.Option(help="a stored dataset id")] = None,
    request: Annotated[Path | None, typer.Option("--input", help="a request .json file")] = None,
    fiscal_year: Annotated[int | None, typer.Option(help="override the dataset's fiscal year")] = None,
    against: Annotated[str | None, typer.Option(help="compare with this revision (default: the active one)")] = None,
) -> None:
    """Run the active and the proposed revision on a dataset; print the impact report as JSON."""
    from service.app import rulesets as service
    from service.app.requests import parse_json_object

    if (dataset is None) == (request is None):
        _fail(["error: give --dataset ID or --input FILE"], 2)
    with _errors(), _state() as state:
        body: dict[str, Any] = (
            {"dataset_id": dataset} if dataset else parse_json_object(request.read_bytes())  # type: ignore[union-attr]
        )
        if fiscal_year is not None:
            body["fiscal_year"] = fiscal_year
        report = service.impact_preview(state, ruleset, revision, body, against)
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2, default=str))
