"""The command line, ``budget-rules``.

Exit status: 0 success; 2 invalid input or policy files (every problem on stderr, one a line, and
nothing on stdout); 1 any other failure, with a one-line message. No traceback reaches the user.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from service.accounts_cli import user_app
from service.domain.errors import BudgetRulesError, InvalidInput, InvalidPolicy, Problem
from service.draftcli import draft_app
from service.engine import ENGINES
from service.lifecycle.cli import ruleset_app
from service.policyfiles import DEFAULT_RULESET
from service.simulation.command import simulate

if TYPE_CHECKING:
    from service.io.jsonstream import JsonRequestStream

app = typer.Typer(
    name="budget-rules",
    help="Budget Rules: performance-budgeting policies with explained recommendations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)

DEMO_FILE = Path("demo") / "wuding-county-2021.json"


def _fail(lines: list[str], status: int) -> NoReturn:
    for line in lines:
        err.print(line, markup=False)
    raise typer.Exit(status)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn every expected failure into plain lines on stderr and an exit status."""
    from service.io.errors import InputFileError

    try:
        yield
    except (InvalidInput, InvalidPolicy) as error:
        _fail(_capped([str(p) for p in error.problems]), _exit_status(error) or 2)
    except InputFileError as error:
        _fail(list(error.problems), _exit_status(error) or 2)
    except BudgetRulesError as error:  # the domain's errors and the use cases' (service.app.errors)
        _fail([f"error: {error}"], _exit_status(error) or 1)
    except OSError as error:
        _fail([f"error: {error.strerror or error}: {getattr(error, 'filename', '')}"], 1)


def _exit_status(error: BaseException) -> int | None:
    """The error table's exit status, imported only on a failure: the table imports sqlalchemy and psycopg
    (about 27 MB and a quarter of a second that a successful ``recommend`` does not need)."""
    from service.app.error_table import exit_status

    return exit_status(error)


MAX_PROBLEMS_SHOWN = 200


def _capped(lines: list[str]) -> list[str]:
    """At most :data:`MAX_PROBLEMS_SHOWN` problems, then how many more there were."""
    if len(lines) <= MAX_PROBLEMS_SHOWN:
        return lines
    more = len(lines) - MAX_PROBLEMS_SHOWN
    return [*lines[:MAX_PROBLEMS_SHOWN], f"… and {more:,} more problems (另有 {more:,} 个问题未列出); fix these first"]


def _parse_envelope(text: str | None, unit: str = "元") -> str | None:
    """The typed envelope in 元 (plain decimal text, in ``unit`` or ending in 元/万元)."""
    if text is None:
        return None
    from service.app.envelope import parse_envelope

    return str(parse_envelope(text, unit))


def _confirm_envelope(raw: Mapping[str, Any], yes: bool) -> None:
    """Refuse an envelope that looks typed in the wrong unit (under 1% of the requested total) unless --yes."""
    if yes or raw.get("envelope") in (None, ""):
        return
    _confirm_total(raw["envelope"], (p.get("requested") for p in raw.get("projects") or [] if isinstance(p, Mapping)))


def _confirm_total(envelope_value: Any, requested: Iterable[Any]) -> None:
    from decimal import Decimal, InvalidOperation

    from service.app.envelope import envelope_unit_warning

    try:
        envelope = Decimal(str(envelope_value))
        total = sum((Decimal(str(amount)) for amount in requested), Decimal(0))
    except (InvalidOperation, ValueError):
        return  # the core names the bad amount
    warning = envelope_unit_warning(envelope, total)
    if warning:
        _fail([warning], 2)


@app.command()
def recommend(
    request_path: Annotated[Path, typer.Argument(metavar="REQUEST", help="request .json, .xlsx, or a folder of CSVs")],
    envelope: Annotated[
        str | None,
        typer.Option(help="money available for these lines (overrides the request), e.g. 600万元 or 6000000"),
    ] = None,
    envelope_unit: Annotated[str, typer.Option(help="unit of --envelope: 元 or 万元")] = "元",
    yes: Annotated[
        bool, typer.Option("--yes", help="run even if the envelope is under 1% of the requested total")
    ] = False,
    ruleset: Annotated[str | None, typer.Option(help="ruleset id (default: the request's, else wuding-county)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json, table, csv, xlsx or pdf")] = "json",
    output: Annotated[Path | None, typer.Option(help="write here instead of stdout (required for xlsx, pdf)")] = None,
    headers: Annotated[str, typer.Option(help="xlsx: zh (Chinese, printable) or en (machine columns)")] = "zh",
    unit: Annotated[str, typer.Option(help="xlsx/pdf amounts in 元 or 万元")] = "元",
    fiscal_year: Annotated[int | None, typer.Option(help="fiscal year (needed for a folder of CSVs)")] = None,
    engine: Annotated[str, typer.Option(help="durable-rules (default) or plain")] = "durable-rules",
    workers: Annotated[
        int | None,
        typer.Option(
            help="json: processes that decide a large request file, this one included (default: one per core; "
            "1: this process only)",
            show_default=False,
        ),
    ] = None,
    record: Annotated[
        bool,
        typer.Option(
            "--record",
            help="record the recommendation in the configured database with its audit record (needs a compiler's "
            "token); without it, nothing is stored and the result carries no decision id",
        ),
    ] = False,
    token: Annotated[str | None, typer.Option(envvar="BUDGET_RULES_TOKEN", help="your API token, for --record")] = None,
) -> None:
    """Recommend an amount for every line, with explanations citing the policies.

    A decision id is printed only for a recorded recommendation (``--record``): that id is then found
    by ``GET /v1/decisions/{id}``, the pages and ``budget-rules draft create``. Without ``--record``
    the result's ``decision_id`` is null.
    """
    from service.io import RESULT_FORMATS  # not service.io.writers: openpyxl and numpy, for json output too

    formats = (*RESULT_FORMATS, "pdf")
    if fmt not in formats:
        _fail([f"error: --format must be one of {', '.join(formats)}"], 2)
    if fmt in ("xlsx", "pdf") and output is None:
        _fail([f"error: --format {fmt} needs --output FILE.{fmt}"], 2)
    if headers not in ("zh", "en"):
        _fail(["error: --headers must be zh or en"], 2)
    if unit not in ("元", "万元") or envelope_unit not in ("元", "万元"):
        _fail(["error: --unit and --envelope-unit must be 元 or 万元"], 2)
    if engine not in ENGINES:
        _fail([f"error: --engine must be one of {', '.join(ENGINES)}"], 2)
    from service.batchpool import MAX_WORKERS

    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        _fail([f"error: --workers must be between 1 and {MAX_WORKERS}"], 2)
    if record:
        with _user_errors(), _recording_errors():
            typed = _parse_envelope(envelope, envelope_unit)
            request, result = record_recommendation(
                request_path, envelope=typed, ruleset=ruleset, fiscal_year=fiscal_year, token=token, confirmed=yes
            )
            _write_document(result, request, fmt, output, headers, unit)
            err.print(f"recorded: decision {result['decision_id']}", markup=False)
        return
    with _user_errors():
        typed = _parse_envelope(envelope, envelope_unit)
        if fmt == "json":  # streamed: memory stays flat however many lines (see service/batch.py)
            stream_recommendation(
                request_path,
                envelope=typed,
                ruleset=ruleset,
                fiscal_year=fiscal_year,
                engine=engine,
                output=output,
                confirmed=yes,
                workers=workers,
            )
            return
        request, result = recommend_with_request(
            request_path, envelope=typed, ruleset=ruleset, fiscal_year=fiscal_year, engine=engine, confirmed=yes
        )
        _write_document(result, request, fmt, output, headers, unit)


def _write_document(
    result: dict[str, Any], request: Any, fmt: str, output: Path | None, headers: str, unit: str
) -> None:
    """The result in the chosen format: the Chinese workbook and the PDF need the request beside it."""
    from service.io.writers import write_result

    if fmt == "xlsx" and headers == "zh":
        from service.io.budget_workbook import build_budget_workbook

        assert output is not None
        build_budget_workbook(result, request=request, unit=unit).save(output)
    elif fmt == "pdf":
        from service.report.pdf import write_budget_pdf

        assert output is not None
        write_budget_pdf(result, output, request=request, unit=unit)
    else:
        write_result(result, fmt, output)


@app.command()
def template(
    output: Annotated[Path, typer.Argument(metavar="FILE.xlsx", help="where to write the import template")] = Path(
        "预算申报模板.xlsx"
    ),
    unit: Annotated[str, typer.Option(help="amount columns in 元 or 万元")] = "元",
) -> None:
    """Write the import template (申报模板): sheets 说明, 参数, 部门, 项目 with drop-down lists and an example."""
    from service.io.template import build_template

    if unit not in ("元", "万元"):
        _fail(["error: --unit must be 元 or 万元"], 2)
    if output.suffix.lower() != ".xlsx":
        _fail([f"error: {output.name}: the template is an .xlsx workbook; name it FILE.xlsx"], 2)
    with _user_errors():
        build_template(unit).save(output)
    err.print(f"已写入申报模板 {output} (import template written)", markup=False)


@contextmanager
def _recording_errors() -> Iterator[None]:
    """The service's own refusals (token, role, database) as one line on stderr, exit status 1."""
    from sqlalchemy.exc import OperationalError

    from service.app.error_table import exit_status
    from service.app.errors import AppError

    try:
        yield
    except AppError as error:
        _fail([f"error ({error.code}): {error.message}"], exit_status(error) or 1)
    except OperationalError as error:
        _fail([f"error: the database is unreachable: {error.orig}"], exit_status(error) or 1)


def record_recommendation(
    request_path: Path,
    *,
    envelope: str | None = None,
    ruleset: str | None = None,
    fiscal_year: int | None = None,
    token: str | None = None,
    confirmed: bool = True,
) -> tuple[Any, dict[str, Any]]:
    """(request, result): recommend and record as ``POST /v1/recommendations`` does (decision row + audit
    record, one transaction)."""
    import json

    from service.app.decisions import recommend_and_record
    from service.app.roles import COMPILERS
    from service.clistate import authenticated, service_state
    from service.domain.records import parse_request

    raw, origins = _load_raw(request_path, envelope, ruleset, fiscal_year)
    _confirm_envelope(raw, confirmed)
    request = parse_request(raw, origins)  # every problem named with its file, row and field before anything opens
    with service_state() as state:
        actor = authenticated(state, token, *COMPILERS)
        row = recommend_and_record(state, actor, json.loads(json.dumps(raw, default=str)))
    result: dict[str, Any] = json.loads(row.result_json)
    return request, result


def _load_raw(
    request_path: Path, envelope: str | None, ruleset: str | None, fiscal_year: int | None
) -> tuple[dict[str, Any], Mapping[tuple[str, int], str]]:
    from service.io.readers import read_request

    loaded = read_request(request_path, fiscal_year=fiscal_year)
    raw = dict(loaded.data)
    if envelope is not None:
        raw["envelope"] = envelope
    if ruleset is not None:
        raw["ruleset"] = ruleset
    return raw, loaded.origins


def _compile_for(ruleset_id: str, fiscal_year: int) -> Any:
    from service.domain.errors import UnknownRuleset
    from service.policyfiles import Catalog

    compiled = Catalog.load().compile(ruleset_id)
    if compiled.subject != "project_lines":
        raise UnknownRuleset(f"ruleset {ruleset_id} is about {compiled.subject} records: use review-disclosure")
    if not compiled.effective.covers(fiscal_year):
        raise UnknownRuleset(
            f"ruleset {ruleset_id} is not effective for fiscal year {fiscal_year} "
            f"(effective {compiled.effective.from_year}–{compiled.effective.to_year or 'onwards'})"
        )
    return compiled


def stream_recommendation(
    request_path: Path,
    *,
    envelope: str | None = None,
    ruleset: str | None = None,
    fiscal_year: int | None = None,
    engine: str = "durable-rules",
    output: Path | None = None,
    confirmed: bool = True,
    workers: int | None = None,
) -> None:
    """The json result written as it is made; to a file, atomically (a temporary file renamed).

    A ``.json`` request is read a project line at a time (:mod:`service.io.jsonstream`), so the whole request
    is never in memory; a request that reader gives up on (a bad file: to report its problem exactly as
    before; a header that is itself invalid: to report its lines' problems too), and the other kinds of
    input, are read whole first. Its lines are decided on ``workers`` processes, this one included (default: one
    per core, :mod:`service.batchpool`); when a line has a problem, the file is read again and decided in this
    process, which lists every problem.
    """
    from service.batchpool import DecideSerially, default_workers
    from service.io.jsonstream import HeaderAfterProjects, JsonRequestStream, ReadWhole

    streaming = request_path.suffix.lower() == ".json" and request_path.is_file()
    header_first = False
    processes = default_workers() if workers is None else workers
    while streaming:
        try:
            streamed = JsonRequestStream(request_path, fiscal_year, header_first=header_first)
        except ReadWhole:
            break
        try:
            raw = _overridden(streamed.raw, envelope, ruleset)
            _stream_request(raw, {}, streamed, engine=engine, output=output, confirmed=confirmed, workers=processes)
            return
        except HeaderAfterProjects:  # nothing was decided or written yet
            header_first = True
        except DecideSerially:  # nothing was written yet: again, in this process, to list every problem
            processes = 1
        except ReadWhole:
            break
        finally:
            streamed.close()
    raw, origins = _load_raw(request_path, envelope, ruleset, fiscal_year)
    _stream_request(raw, origins, None, engine=engine, output=output, confirmed=confirmed)


def _stream_request(
    raw: dict[str, Any],
    origins: Mapping[tuple[str, int], str],
    streamed: JsonRequestStream | None,
    *,
    engine: str,
    output: Path | None,
    confirmed: bool,
    workers: int = 1,
) -> None:
    """Decide ``raw`` (its lines in ``raw["projects"]``, or given one at a time by ``streamed``) and write it."""
    import os
    import tempfile

    from service.batch import recommend_stream
    from service.domain.records import RequestValidator, parse_request
    from service.engine import make_matcher
    from service.io.jsonstream import ReadWhole

    projects = None
    if streamed is None or streamed.projects is None:
        _confirm_envelope(raw, confirmed)
    else:  # the requested total is known at the end of the lines: checked there, before anything is written
        projects = _envelope_checked(streamed.projects, raw, confirmed)
    header = RequestValidator(raw).header
    if header is None:  # the request itself is wrong: report every problem, its lines' too
        if projects is not None:
            raise ReadWhole("the header is invalid")
        parse_request(raw, origins)
        raise AssertionError("parse_request accepted a request whose header is invalid")
    try:
        compiled = _compile_for(header.ruleset or DEFAULT_RULESET, header.fiscal_year)
    except BudgetRulesError:
        if projects is not None:  # reported after the file's own problems and the envelope's, as before
            raise ReadWhole("the ruleset is refused") from None
        raise
    matcher = make_matcher(compiled, engine)  # type: ignore[arg-type]
    with _progress(raw, streamed) as progress:
        try:
            if output is None:
                out = sys.stdout
                recommend_stream(
                    raw, compiled, matcher, out, origins=origins, progress=progress, projects=projects, workers=workers
                )
                out.write("\n")
                out.flush()
                return
            folder = output.resolve().parent
            with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=folder, delete=False, suffix=".part") as tmp:
                try:
                    recommend_stream(
                        raw,
                        compiled,
                        matcher,
                        tmp,
                        origins=origins,
                        progress=progress,
                        projects=projects,
                        workers=workers,
                    )
                    tmp.write("\n")
                except BaseException:
                    tmp.close()
                    os.unlink(tmp.name)
                    raise
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp.name, 0o666 & ~umask)  # a temporary file is private; the result is not
            os.replace(tmp.name, output)
        finally:
            getattr(matcher, "close", lambda: None)()


def _envelope_checked(projects: Iterator[Any], raw: Mapping[str, Any], yes: bool) -> Iterator[Any]:
    """The lines of ``projects``, then :func:`_confirm_envelope`'s check on their requested total."""
    if yes or raw.get("envelope") in (None, ""):
        yield from projects
        return
    from decimal import Decimal, InvalidOperation

    total: Decimal | None = Decimal(0)
    for p in projects:
        if total is not None and isinstance(p, Mapping):
            try:
                total += Decimal(str(p.get("requested")))  # in file order, as sum() adds them
            except (InvalidOperation, ValueError):
                total = None  # the core names the bad amount
        yield p
    if total is not None:
        _confirm_total(raw["envelope"], [total])


def _overridden(raw: dict[str, Any], envelope: str | None, ruleset: str | None) -> dict[str, Any]:
    if envelope is not None:
        raw["envelope"] = envelope
    if ruleset is not None:
        raw["ruleset"] = ruleset
    return raw


@contextmanager
def _progress(
    raw: Mapping[str, Any], streamed: JsonRequestStream | None
) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr for long requests (20,000 lines; 5 MB of a file read as it goes), on a terminal."""
    if streamed is None:
        total = len(raw.get("projects") or [])
        large = total >= 20_000
    else:
        total = streamed.size
        large = total >= 5 * 1024 * 1024
    if not large or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress

    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("lines", total=total)
        if streamed is None:
            yield lambda done, _total: bar.update(task, completed=done)
        else:
            yield lambda _done, _total: bar.update(task, completed=streamed.position)


def run_recommendation(
    request_path: Path,
    *,
    envelope: str | None = None,
    ruleset: str | None = None,
    fiscal_year: int | None = None,
    engine: str = "durable-rules",
) -> dict[str, Any]:
    return recommend_with_request(
        request_path, envelope=envelope, ruleset=ruleset, fiscal_year=fiscal_year, engine=engine
    )[1]


def recommend_with_request(
    request_path: Path,
    *,
    envelope: str | None = None,
    ruleset: str | None = None,
    fiscal_year: int | None = None,
    engine: str = "durable-rules",
    confirmed: bool = True,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The validated request (JSON form, for exports that must read back) and the result."""
    from service.domain.decision import recommend as decide
    from service.domain.records import parse_request
    from service.engine import make_matcher

    raw, origins = _load_raw(request_path, envelope, ruleset, fiscal_year)
    _confirm_envelope(raw, confirmed)
    request = parse_request(raw, origins)
    compiled = _compile_for(request.ruleset or DEFAULT_RULESET, request.fiscal_year)
    matcher = make_matcher(compiled, engine)  # type: ignore[arg-type]
    try:
        result = decide(request, compiled, matcher)
    finally:
        close: Callable[[], None] | None = getattr(matcher, "close", None)
        if close:
            close()
    return request.model_dump(mode="json", exclude_none=True), result


app.command()(simulate)


@app.command("review-disclosure")
def review_disclosure_command(
    request_path: Annotated[Path, typer.Argument(metavar="REQUEST", help="disclosure records (.json)")],
    ruleset: Annotated[str | None, typer.Option(help="ruleset id (default: disclosure-compliance)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json or table")] = "json",
) -> None:
    """Flag departments that published performance targets or self-evaluation reports late (三(三))."""
    import json

    from service.domain.disclosure import parse_disclosure_request, review_disclosure
    from service.engine import make_matcher
    from service.io.readers import read_request
    from service.policyfiles import Catalog

    if fmt not in ("json", "table"):
        _fail(["error: --format must be json or table"], 2)
    with _user_errors():
        loaded = read_request(request_path)
        raw = dict(loaded.data)
        if ruleset is not None:
            raw["ruleset"] = ruleset
        request = parse_disclosure_request(raw)
        compiled = Catalog.load().compile(request.ruleset or "disclosure-compliance")
        if compiled.subject != "department_disclosure":
            _fail([f"error: ruleset {compiled.id} is not about department disclosure records"], 2)
        matcher = make_matcher(compiled)
        result = review_disclosure(request, compiled, matcher)
    if fmt == "json":
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    from rich.table import Table

    table = Table(title=f"{compiled.title.zh} · {compiled.title.en} · {compiled.revision}")
    for title in ("部门 department", "名称 name", "标记 flags", "说明 reason"):
        table.add_column(title)
    for d in result["departments"]:
        if d["flags"]:
            flags = ", ".join(f["code"] + (f" +{f['days_late']}d" if "days_late" in f else "") for f in d["flags"])
            table.add_row(d["department_id"], d["name"], flags, "\n".join(e["reason"]["zh"] for e in d["explanations"]))
    Console(highlight=False, width=None if sys.stdout.isatty() else 140).print(table)
    typer.echo(
        f"compliant {result['summary']['counts']['compliant']}, flagged {result['summary']['counts']['flagged']}"
    )


@app.command()
def validate(
    path: Annotated[
        Path | None,
        typer.Argument(help="a policy or ruleset file, or a folder holding policies/ and rulesets/"),
    ] = None,
) -> None:
    """Check policy and ruleset files; every problem names the file and the path inside it."""
    from service.domain.checks import check_ruleset
    from service.engine.durable import limit_problems
    from service.policyfiles import Catalog, load_policy, load_ruleset_file

    with _user_errors():
        if path is not None and path.is_file():
            if path.parent.name == "rulesets":
                ruleset = load_ruleset_file(path)
                catalog = Catalog.load(path.parent.parent)
                catalog.compile(ruleset.id)
            else:
                from service.policytests import compile_alone

                policy = load_policy(path)
                compile_alone(Catalog.load(path.parent.parent), policy, str(path))
            typer.echo(f"{path}: valid")
            return
        if path is not None and not path.exists():
            _fail([f"{path}: no such file or folder"], 2)
        catalog, load_problems = Catalog.load_all(path)
        try:
            compiled = catalog.compile_all()
        except InvalidPolicy as error:
            raise InvalidPolicy(load_problems + error.problems) from None
        if load_problems:
            raise InvalidPolicy(load_problems)
        errors: list[str] = []
        warnings: list[str] = []
        for ruleset_id, r in compiled.items():
            source = catalog.ruleset_paths.get(ruleset_id, ruleset_id)
            errors += [str(p) for p in limit_problems(r, source, catalog.policy_paths)]
            warnings += [str(f.problem) for f in check_ruleset(r, source, catalog.policy_paths)]
            typer.echo(f"{ruleset_id}: {len(r.policies)} policies, revision {r.revision}, {r.digest}")
        for line in warnings:
            err.print(f"warning: {line}", markup=False)
        if errors:
            _fail([f"error: {line}" for line in errors], 2)
        typer.echo(
            f"valid: {len(catalog.policies)} policies, {len(catalog.rulesets)} rulesets, {len(warnings)} warnings"
        )


@app.command("test")
def test_policies(
    engine: Annotated[str, typer.Option(help="durable-rules (default) or plain")] = "durable-rules",
) -> None:
    """Run every policy's examples and show which rules they exercised (fired / not fired / superseded)."""
    from service.policyfiles import Catalog
    from service.policytests import render_coverage, run_policy_examples

    with _user_errors():
        report = run_policy_examples(Catalog.load(), engine=engine)
    render_coverage(report, Console(highlight=False))
    if report.failures:
        _fail([str(f) for f in report.failures], 1)


@app.command()
def schema(
    output: Annotated[Path, typer.Option(help="folder for the JSON Schemas")] = Path("schemas"),
) -> None:
    """Write the JSON Schemas of policy and ruleset files (for editor completion)."""
    from service.schemas import write_schemas

    for path in write_schemas(output):
        typer.echo(str(path))


@app.command()
def demo(
    fmt: Annotated[str, typer.Option("--format", help="table (default), json, csv or xlsx")] = "table",
    output: Annotated[Path | None, typer.Option(help="write here instead of stdout")] = None,
    tokens: Annotated[bool, typer.Option(help="also create demo API tokens (one per role)")] = True,
) -> None:
    """Run the recommendation on the embedded demo county (Wuding-like, 96 units, 99 projects).

    Also prepares the service: applies the database migrations and creates one demo token per role,
    printed once, so `budget-rules serve` can be tried at once.
    """
    from service.policyfiles import default_root

    recommend(default_root() / DEMO_FILE, fmt=fmt, output=output)
    if tokens:
        _demo_tokens()


def _demo_tokens() -> None:
    import secrets

    from service.app import accounts
    from service.app.errors import NotFound
    from service.app.roles import ROLES
    from service.app.tokens import create_token, revoke_token

    settings, db = _database()
    created, passwords = {}, {}
    with _service_errors(), db.transaction() as session:
        for role in ROLES:
            name = f"demo-{role}"
            with contextlib.suppress(NotFound):
                revoke_token(session, name, secret=settings.audit_secret)
            passwords[role] = secrets.token_urlsafe(12)  # a demo user per role, to sign in to the pages
            if accounts.by_name(session, name) is None:
                accounts.create_user(session, settings.audit_secret, accounts.CONSOLE, name, role, passwords[role])
            else:
                accounts.reset_password(session, settings.audit_secret, accounts.CONSOLE, name, passwords[role])
            created[role] = create_token(session, name, role, secret=settings.audit_secret, user=name)
    db.dispose()
    err.print(f"\nDemo tokens for the API (shown once; database {settings.database_url}):", markup=False)
    for role, token in created.items():
        err.print(f"  {role:<10} {token}", markup=False)
    err.print("Demo users for the pages (user name and password, shown once):", markup=False)
    for role, password in passwords.items():
        err.print(f"  demo-{role:<12} {password}", markup=False)
    err.print(
        "Start the service with: .venv/bin/budget-rules serve   (OpenAPI at http://127.0.0.1:8000/docs)", markup=False
    )


# ------------------------------------------------------------------------------- service commands

db_app = typer.Typer(help="The service database.", no_args_is_help=True)
token_app = typer.Typer(help="API bearer tokens (stored only as sha256 hashes).", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail (HMAC hash chain).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")
app.add_typer(ruleset_app, name="ruleset")
app.add_typer(draft_app, name="draft")
app.add_typer(user_app, name="user")  # service/accounts_cli.py


def _settings() -> Any:
    """Settings from BUDGET_RULES_* (exit 2 with the reason when they are refused)."""
    from pydantic import ValidationError

    from service.settings import Settings

    try:
        return Settings()
    except ValidationError as error:
        _fail([f"error: {e['msg']}" for e in error.errors()], 2)


@contextmanager
def _service_errors() -> Iterator[None]:
    """Service-side failures (conflicts, unknown names, database down) as one line and exit 1."""
    from sqlalchemy.exc import OperationalError

    from service.app.error_table import exit_status

    with _user_errors():  # service.app.errors are BudgetRulesErrors: one line, the table's status
        try:
            yield
        except OperationalError as error:
            _fail([f"error: the database is unreachable: {error.orig}"], exit_status(error) or 1)


def _database() -> tuple[Any, Any]:
    from service.storage import Database, upgrade_database

    settings = _settings()
    with _service_errors():
        upgrade_database(settings.database_url)
    return settings, Database(settings.database_url)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int | None, typer.Option(help="worker processes (default BUDGET_RULES_WORKERS)")] = None,
) -> None:
    """Run the HTTP service (migrations applied first; one decision engine per worker process)."""
    import uvicorn

    settings, db = _database()
    db.dispose()
    uvicorn.run(
        "service.api:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers or settings.workers,
        proxy_headers=False,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (Alembic) to BUDGET_RULES_DATABASE_URL."""
    _database()[1].dispose()
    typer.echo("database is up to date")


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="who or what the token is for")],
    role: Annotated[str, typer.Option(help="compiler, analyst, maintainer, approver, auditor or admin")],
    expires_days: Annotated[
        int | None, typer.Option(min=1, max=3650, help="refuse the token after this many days")
    ] = None,
    user: Annotated[str | None, typer.Option(help="the user the token belongs to (same role)")] = None,
) -> None:
    """Create a token and print it once (only its hash is stored)."""
    from datetime import timedelta

    from service.app.tokens import create_token
    from service.storage.db import utc_now

    settings, db = _database()
    expires_at = utc_now() + timedelta(days=expires_days) if expires_days else None
    with _service_errors(), db.transaction() as session:
        token = create_token(session, name, role, secret=settings.audit_secret, expires_at=expires_at, user=user)
    db.dispose()
    typer.echo(token)


@token_app.command("revoke")
def token_revoke(name: Annotated[str, typer.Argument(help="the token's name")]) -> None:
    """Revoke (delete) the token named NAME."""
    from service.app.tokens import revoke_token

    settings, db = _database()
    with _service_errors(), db.transaction() as session:
        revoke_token(session, name, secret=settings.audit_secret)
    db.dispose()
    typer.echo(f"revoked {name}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the audit chain; exit 1 naming the first record edited, removed, inserted or reordered.

    Budget drafts are covered too: each draft's figures are replayed from its recommendation and its
    audit records and compared with what is stored (``drafts`` in the output).
    """
    import json

    from service import audit
    from service.app.drafts import replay_json, verify_all

    settings, db = _database()
    with _service_errors():
        with db.transaction() as session:
            result = audit.verify(session, settings.audit_secret)
        checked, bad = verify_all(db)
    db.dispose()
    report = {**result.as_dict(), "drafts": {"checked": checked, "problems": [replay_json(r) for r in bad]}}
    typer.echo(json.dumps(report, ensure_ascii=False, indent=1))
    if not result.ok or bad:
        raise typer.Exit(1)


@audit_app.command("head")
def audit_head() -> None:
    """Print the latest chain hash and the number of records."""
    import json

    from service import audit

    _, db = _database()
    with _service_errors(), db.transaction() as session:
        head = audit.head(session)
    db.dispose()
    typer.echo(json.dumps({"count": head.count, "seq": head.seq, "chain_hash": head.chain_hash}))


def main() -> None:  # pragma: no cover - console entry point
    """Run the command; an unexpected failure is one line on stderr, never a traceback."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as error:  # the last guard: report, do not dump internals on the user
        err.print(f"error: unexpected failure ({type(error).__name__}): {error}", markup=False)
        err.print("please report this with the command you ran", markup=False)
        sys.exit(1)


__all__ = ["Problem", "app", "main"]
