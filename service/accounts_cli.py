"""``budget-rules user …``: user accounts at the console (docs/accounts.md).

Passwords are read from standard input (``--password-stdin``), never from the command line, where other
users of the machine could see them. Console actions are recorded in the audit chain as ``console``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from service.app.errors import AppError, BudgetRulesError, InvalidInput

user_app = typer.Typer(
    help="User accounts for the web pages (passwords stored as argon2 hashes).", no_args_is_help=True
)
err = Console(stderr=True, highlight=False, soft_wrap=True)

NameOption = Annotated[str, typer.Option("--name", help="the user name (case does not distinguish users)")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from the first line of standard input")
]


def _fail(lines: list[str], status: int) -> NoReturn:
    for line in lines:
        err.print(line, markup=False)
    raise typer.Exit(status)


def _read_password(from_stdin: bool) -> str:
    from service.app import accounts  # imported here: the other commands start without sqlmodel and argon2

    if not from_stdin:
        _fail(["error: give the password on standard input with --password-stdin"], 2)
    line = sys.stdin.readline(accounts.MAX_PASSWORD + 2)
    return line.rstrip("\r\n")


@contextmanager
def _database() -> Iterator[tuple[str, object]]:
    from pydantic import ValidationError
    from sqlalchemy.exc import OperationalError

    from service.settings import Settings
    from service.storage import Database, upgrade_database

    try:
        settings = Settings()
    except ValidationError as error:
        _fail([f"error: {e['msg']}" for e in error.errors()], 2)
    try:
        upgrade_database(settings.database_url)
        db = Database(settings.database_url)
    except OperationalError as error:
        _fail([f"error: the database is unreachable: {error.orig}"], 1)
    try:
        yield settings.audit_secret, db
    except InvalidInput as error:
        _fail([str(p) for p in error.problems], 2)
    except AppError as error:
        _fail([f"error: {error.message}"], 1)
    except BudgetRulesError as error:
        _fail([f"error: {error}"], 1)
    except OperationalError as error:
        _fail([f"error: the database is unreachable: {error.orig}"], 1)
    finally:
        if "db" in locals():
            db.dispose()


def _run(action: str, name: str, role: str = "", password: str = "") -> None:
    from service.app import accounts  # imported here: the other commands start without sqlmodel and argon2
    from service.storage import Database

    with _database() as (secret, db):
        assert isinstance(db, Database)
        with db.transaction() as session:
            actor = accounts.CONSOLE
            if action == "create":
                accounts.create_user(session, secret, actor, name, role, password)
            elif action in ("disable", "enable"):
                accounts.set_disabled(session, secret, actor, name, disabled=action == "disable")
            elif action == "reset-password":
                accounts.reset_password(session, secret, actor, name, password)
            else:
                accounts.change_role(session, secret, actor, name, role)


@user_app.command("create")
def user_create(
    name: NameOption,
    role: Annotated[str, typer.Option(help="compiler, analyst, maintainer, approver, auditor or admin")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a user with a role; the password comes from standard input."""
    _run("create", name, role=role, password=_read_password(password_stdin))
    typer.echo(f"created user {name} ({role})")


@user_app.command("disable")
def user_disable(name: NameOption) -> None:
    """Disable a user: every session ends at once and the user's tokens are refused."""
    _run("disable", name)
    typer.echo(f"disabled {name}")


@user_app.command("enable")
def user_enable(name: NameOption) -> None:
    """Enable a disabled user again (and lift a lock)."""
    _run("enable", name)
    typer.echo(f"enabled {name}")


@user_app.command("reset-password")
def user_reset_password(name: NameOption, password_stdin: PasswordStdin = False) -> None:
    """Set a new password (from standard input); the lock is lifted and every session of the user ends."""
    _run("reset-password", name, password=_read_password(password_stdin))
    typer.echo(f"password reset for {name}")


@user_app.command("role")
def user_role(
    name: NameOption,
    role: Annotated[str, typer.Option(help="compiler, analyst, maintainer, approver, auditor or admin")],
) -> None:
    """Give a user another role (recorded in the audit chain)."""
    _run("role", name, role=role)
    typer.echo(f"{name} is now {role}")


@user_app.command("list")
def user_list() -> None:
    """The users, their roles and whether they are disabled or locked."""
    from service.app import accounts  # imported here: the other commands start without sqlmodel and argon2
    from service.storage import Database

    with _database() as (_, db):
        assert isinstance(db, Database)
        with db.transaction() as session:
            for row in accounts.list_users(session):
                state = "disabled" if row.disabled else "locked" if accounts.is_locked(row) else "active"
                typer.echo(f"{row.name}\t{row.role}\t{state}")
