"""Fixtures the page tests share: a test app on its own SQLite file per module, started once.

A module that uses them sets ``SECRET`` (its audit secret); one that needs another app defines its own
``app`` fixture, which takes precedence over this one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.api import create_app
from service.settings import Settings


@pytest.fixture(scope="module")
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    folder = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    url = f"sqlite:///{folder / 'budget-rules.sqlite3'}"
    return create_app(Settings(database_url=url, audit_secret=request.module.SECRET, environment="test"))


@pytest.fixture(scope="module")
def started(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


# The real server and the Chromium session of the browser tests, for every module that drives pages in a browser.
from tests.web.test_web_browser import browser, server  # noqa: E402, F401
