"""The fast money texts of the streamed result say exactly what ``money_text`` says of the same fens."""

from __future__ import annotations

import random

import pytest

from service.domain.money import fen_text, fen_utf8, from_fen, money_text

EDGES = [0, 1, -1, 9, 10, 99, 100, 101, -99, -100, -101, 123_456_789, -123_456_789, 10**14 + 7, -(10**14) - 7]


@pytest.mark.parametrize("fen", EDGES)
def test_edges(fen: int) -> None:
    assert fen_text(fen) == money_text(from_fen(fen))
    assert fen_utf8(fen) == money_text(from_fen(fen)).encode()


def test_random_amounts_in_every_magnitude() -> None:
    rng = random.Random(16)
    for _ in range(20_000):
        fen = rng.randrange(10 ** rng.randrange(1, 16)) * rng.choice((1, -1))
        want = money_text(from_fen(fen))
        assert fen_text(fen) == want, fen
        assert fen_utf8(fen) == want.encode(), fen
