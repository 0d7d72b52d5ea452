"""PostgreSQL cut off mid-way under concurrent load: every answer is 200 or the 503 envelope, never a 500.

The app reaches PostgreSQL through a small TCP relay in this test; half-way through a burst of
concurrent recommendations and reads the relay closes every connection and stops listening — the
database "stops" between, and in the middle of, requests (issue 10, point 5).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.app.tokens import create_token
from tests.api.conftest import PG_SERVER, SECRET, bearer, dumps, make_settings, small_request


class Relay:
    """Forwards 127.0.0.1:port to PostgreSQL until :meth:`cut`."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.listener.close()
        with self.lock:
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()


@pytest.fixture
def relayed_url() -> Iterator[tuple[Relay, str]]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=5) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    info = psycopg.conninfo.conninfo_to_dict(PG_SERVER)
    relay = Relay((str(info.get("host", "127.0.0.1")), int(info.get("port", 5432))))
    url = (
        f"postgresql+psycopg://postgres@127.0.0.1:{relay.port}/test?connect_timeout=2&options=-csearch_path%3D{schema}"
    )
    try:
        yield relay, url
    finally:
        relay.cut()
        with psycopg.connect(PG_SERVER, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_cut_mid_way_gives_only_200_or_503(relayed_url: tuple[Relay, str], demo_request: dict[str, Any]) -> None:
    relay, url = relayed_url
    app = create_app(make_settings(url))
    body = dumps(small_request(demo_request, 1))
    with TestClient(app, raise_server_exceptions=False) as client:
        with app.state.budget_rules.db.transaction() as session:
            compiler = create_token(session, f"cut-c-{uuid.uuid4().hex[:6]}", "compiler", secret=SECRET)
            auditor = create_token(session, f"cut-a-{uuid.uuid4().hex[:6]}", "auditor", secret=SECRET)
        calls = [
            lambda: client.post("/v1/recommendations", content=body, headers=bearer(compiler)),
            lambda: client.get("/v1/decisions", headers=bearer(auditor)),
            lambda: client.get("/v1/audit/head", headers=bearer(auditor)),
        ]
        started = threading.Event()

        def call(i: int) -> Any:
            if i == 24:
                started.wait(5)
                relay.cut()  # while other requests are in flight
            if i > 6:
                started.set()
            return calls[i % len(calls)]()

        with ThreadPoolExecutor(max_workers=4) as pool:
            responses = list(pool.map(call, range(60)))
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 503}, [
        (r.status_code, r.text[:200]) for r in responses if r.status_code not in (200, 503)
    ]
    assert 200 in statuses and 503 in statuses, statuses
    for response in responses:
        if response.status_code == 503:
            assert response.json()["error"]["code"] == "database_unavailable"
