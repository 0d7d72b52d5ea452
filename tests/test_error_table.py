"""The one table of statuses: every error class of service.app.errors is listed, for HTTP and for the CLI."""

from __future__ import annotations

import inspect

import pytest

from service.app import errors
from service.app.error_table import EXIT_STATUS, HTTP_STATUS, exit_status, http_status
from service.app.rulesets import InvalidRevision
from service.app.simulations import TooManyJobs
from service.io.readers import InputFileError

ERROR_CLASSES = [
    obj for name in errors.__all__ if inspect.isclass(obj := getattr(errors, name)) and issubclass(obj, Exception)
]


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_every_error_class_is_listed_in_both_tables(cls: type[Exception]) -> None:
    assert cls in HTTP_STATUS, f"{cls.__name__} has no HTTP status"
    assert cls in EXIT_STATUS, f"{cls.__name__} has no exit status"


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (errors.NotFound("no such thing"), 404, 1),
        (errors.Conflict("busy", code="same_person"), 409, 1),
        (errors.Forbidden("not you"), 403, 1),
        (errors.Unauthenticated("who?"), 401, 1),
        (errors.TooLarge("too big"), 413, 2),
        (errors.InvalidJson("not JSON"), 422, 2),
        (InvalidRevision("2 errors"), 422, 2),  # a subclass takes its nearest listed base's entry
        (TooManyJobs("later"), 429, 1),
        (errors.InvalidInput([errors.Problem(("x",), "bad")]), 422, 2),
        (errors.UnknownRuleset("nope"), 422, 2),
        (errors.InvalidPolicy([]), 500, 2),
        (errors.EngineFailure("boom"), 500, 1),
        (InputFileError(["a.csv row 2: bad"]), 422, 2),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_status_and_exit_status_of_each_error(error: Exception, status: int, code: int) -> None:
    assert http_status(error) == status
    assert exit_status(error) == code


def test_an_unknown_exception_is_not_in_the_tables() -> None:
    assert http_status(RuntimeError("bug")) is None
    assert exit_status(KeyError("bug")) is None
