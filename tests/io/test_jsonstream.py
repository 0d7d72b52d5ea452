"""The JSON request read a line at a time gives what the whole-file reader gives, and the same problems."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from service.cli import stream_recommendation
from service.demo import dumps_request
from service.demo import generate_request as demo_request
from service.io import jsonstream, readers
from service.io.jsonstream import HeaderAfterProjects, JsonRequestStream, ReadWhole
from service.io.readers import InputFileError, read_json_file

HEADER = '"fiscal_year": 2021, "envelope": "1000000.00", "departments": [{"department_id": "D01", "name": "农业局"}]'
LINE = '{"project_id": "P%d", "department_id": "D01", "name": "项目", "requested": 1200.5e1, "priority": 2}'


def lines(n: int) -> str:
    return ", ".join(LINE % i for i in range(n))


def read_streamed(path: Path, fiscal_year: int | None = None, *, header_first: bool = False) -> dict[str, Any]:
    """The request as the stream gives it, put together again."""
    streamed = JsonRequestStream(path, fiscal_year, header_first=header_first)
    raw = dict(streamed.raw)
    if streamed.projects is not None:
        raw["projects"] = list(streamed.projects)
    return raw


def read_as_the_command(path: Path) -> dict[str, Any]:
    """As ``budget-rules recommend`` reads: a key after the lines means reading again, the header first."""
    try:
        return read_streamed(path)
    except HeaderAfterProjects:
        return read_streamed(path, header_first=True)


def same_as_whole(path: Path, fiscal_year: int | None = None, *, header_first: bool = False) -> None:
    got = read_streamed(path, fiscal_year, header_first=header_first)
    want = read_json_file(path, fiscal_year).data
    assert got == want
    assert list(got) == list(want)  # the keys in file order


@pytest.fixture(params=["blocks", "tiny-blocks", "short-runs"])
def blocks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The usual block size, blocks of a few bytes (every value and every UTF-8 character cut somewhere), and
    runs of lines parsed together cut every few dozen characters (inside lines, strings and numbers)."""
    if request.param == "tiny-blocks":
        monkeypatch.setattr(jsonstream, "BLOCK", 7)
        monkeypatch.setattr(jsonstream, "AHEAD", 3)
    if request.param == "short-runs":
        monkeypatch.setattr(jsonstream, "AHEAD", 3)
        monkeypatch.setattr(jsonstream, "RUN", 45)


def test_the_size_limit_is_the_readers() -> None:
    assert jsonstream.MAX_INPUT_BYTES == readers.MAX_INPUT_BYTES


@pytest.mark.usefixtures("blocks")
def test_a_generated_request_reads_as_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_text(dumps_request(demo_request(300, seed=5)), encoding="utf-8")
    same_as_whole(path)
    same_as_whole(path, 2022)
    same_as_whole(path, header_first=True)


@pytest.mark.usefixtures("blocks")
@pytest.mark.parametrize(
    "text",
    [
        "{" + HEADER + ', "projects": [' + lines(5) + "]}",
        "\ufeff{" + HEADER + ', "projects": [' + lines(3) + "]}\n\n",
        '{"projects": [' + lines(4) + "], " + HEADER + "}",  # the header after the lines
        '{"projects": [' + lines(3) + '], "extra": [{"a": 1}, {"b": 2}], ' + HEADER + "}",  # objects after the array
        '{"fiscal_year": 2021, "projects": [' + lines(2) + '], "departments": []}',
        "{" + HEADER + ', "projects": []}',
        "{" + HEADER + ', "projects": [ ]  }',
        "{" + HEADER + "}",  # no projects
        "{" + HEADER + ', "projects": {"not": "a list"}}',
        "{}",
        '{"projects": [1, 22, 333, -4.5e-3, "x", null, [], {}, true]}',  # not lines, but JSON: validated later
    ],
)
def test_any_key_order_and_shape_reads_as_the_whole_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "request.json"
    path.write_text(text, encoding="utf-8")
    same_as_whole(path, header_first=True)
    try:
        same_as_whole(path)
    except HeaderAfterProjects:
        assert text.index('"projects"') < text.rindex('"fiscal_year"')


def test_a_key_after_the_lines_asks_for_the_header_first(tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_text('{"fiscal_year": 2021, "departments": [], "projects": [' + lines(3) + '], "envelope": "1"}')
    streamed = JsonRequestStream(path)
    assert "envelope" not in streamed.raw
    with pytest.raises(HeaderAfterProjects):
        list(streamed.projects or [])
    assert read_streamed(path, header_first=True)["envelope"] == "1"


TRICKY = [
    '{"project_id": "A", "name": "x}, {", "requested": 1}',
    '{"project_id": "B", "name": "}, {\\"project_id\\": \\"C\\"}", "requested": 2.50}',
    '{"project_id": "D", "extra": {"nested": {"deep": [{"a": 1}, {"b": 2}]}}, "requested": 3}',
    '{"project_id": "E", "list": [{"x": "}"}, {"y": "{"}], "name": "逗号，}, {括号"}',
    '{"project_id": "F"}',
]


@pytest.mark.parametrize("run", [1, 2, 5, 13, 30, 61, 97, 150, 400])
def test_runs_of_lines_cut_anywhere_read_as_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: int
) -> None:
    """A run ends at a brace a comma and a line follow: inside a string, inside a line or at a line's end."""
    monkeypatch.setattr(jsonstream, "AHEAD", 1)
    monkeypatch.setattr(jsonstream, "RUN", run)
    path = tmp_path / "request.json"
    path.write_text("{" + HEADER + ', "projects": [' + ",\n ".join(TRICKY * 7) + "]}", encoding="utf-8")
    same_as_whole(path)


def test_a_run_past_the_end_of_the_lines_is_not_taken_for_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs ending inside the objects of a key after the array: wrapped, its closing bracket ends them early."""
    path = tmp_path / "request.json"
    path.write_text('{"projects": [' + lines(3) + '], "extra": [{"a": 1}, {"b": 2}], ' + HEADER + "}")
    monkeypatch.setattr(jsonstream, "AHEAD", 1)
    for run in range(100, 150):  # from 117 to 136 characters a run reaches into "extra"
        monkeypatch.setattr(jsonstream, "RUN", run)
        same_as_whole(path, header_first=True)


def test_runs_are_parsed_together(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The usual file is read a run of lines at a time, not a line at a time."""
    calls: list[int] = []
    scan = jsonstream._scan
    monkeypatch.setattr(jsonstream, "_scan", lambda text, at: calls.append(at) or scan(text, at))
    path = tmp_path / "request.json"
    path.write_text(dumps_request(demo_request(2000, seed=5)), encoding="utf-8")
    lines = read_streamed(path)["projects"]
    assert lines == read_json_file(path).data["projects"]
    assert len(calls) < len(lines) / 5  # the header's values, then a call for a hundred lines or so


def test_numbers_stay_exact(tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_text('{"fiscal_year": 2021, "departments": [], "projects": [{"requested": 0.1, "n": 12}]}')
    [line] = read_streamed(path)["projects"]
    assert line == {"requested": Decimal("0.1"), "n": 12}
    assert isinstance(line["requested"], Decimal)


BAD = [
    "{" + HEADER + ', "projects": [' + lines(3) + ",]}",  # a trailing comma
    "{" + HEADER + ', "projects": [' + lines(3) + "]",  # cut short
    "{" + HEADER + ', "projects": [' + lines(3) + "] 1}",
    "{" + HEADER + ', "projects": [' + lines(3) + "]} []",  # extra data
    "{" + HEADER + ', "projects": [' + lines(2) + ', {"requested": 1, "requested": 2}]}',  # a repeated key
    "{" + HEADER + ', "projects": [' + lines(2) + ', {"requested": NaN}]}',
    "{" + HEADER + ', "projects": [' + lines(2) + ', {"requested": -Infinity}]}',
    "{" + HEADER + ', "projects": [' + lines(2) + ', {"requested": 1' + "0" * 5000 + "}]}",
    "{" + HEADER + ', "projects": [' + lines(2) + "], " + HEADER + "}",  # the header twice
    "{" + HEADER + ', "projects": [], "projects": [' + lines(2) + "]}",
    '{"projects": [' + lines(2) + '], "fiscal_year": 2021, "fiscal_year": 2022}',
    "{" + HEADER + ', "projects": [' + lines(2) + ', {"name": "unterminated}]}',
    "{" + HEADER + ', "projects" [' + lines(2) + "]}",
    "{" + HEADER + ", projects: [" + lines(2) + "]}",
    "{" + HEADER + ', "projects": [' + "[" * 100_000 + "]" * 100_000 + "]}",  # nested too deeply
    "[" + lines(2) + "]",
    "\ufeff\ufeff{}",
    "",
    "   ",
    "{" + HEADER + ', "projects": [' + lines(2) + "]} \x00",
]


@pytest.mark.usefixtures("blocks")
@pytest.mark.parametrize("text", BAD, ids=range(len(BAD)))
def test_a_bad_file_gives_the_whole_file_readers_problem(tmp_path: Path, text: str) -> None:
    path = tmp_path / "request.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputFileError) as whole:
        read_json_file(path)
    with pytest.raises(InputFileError) as streamed:
        read_as_the_command(path)
    assert streamed.value.problems == whole.value.problems
    with pytest.raises(InputFileError) as streamed:
        read_streamed(path, header_first=True)
    assert streamed.value.problems == whole.value.problems


@pytest.mark.usefixtures("blocks")
@pytest.mark.parametrize("cut", [1, 40, 200, 350])
def test_bad_utf8_anywhere_gives_the_same_byte_offset(tmp_path: Path, cut: int) -> None:
    data = ("{" + HEADER + ', "projects": [' + lines(3) + "]}").encode()
    path = tmp_path / "request.json"
    path.write_bytes(data[:cut] + b"\xff" + data[cut:])
    with pytest.raises(InputFileError) as whole:
        read_json_file(path)
    with pytest.raises(InputFileError) as streamed:
        read_streamed(path)
    assert streamed.value.problems == whole.value.problems
    assert "byte offset" in streamed.value.problems[0]


def test_too_large_and_missing_files_give_the_same_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "request.json"
    path.write_text("{" + HEADER + ', "projects": [' + lines(30) + "]}")
    monkeypatch.setattr(jsonstream, "MAX_INPUT_BYTES", 100)
    monkeypatch.setattr(readers, "MAX_INPUT_BYTES", 100)
    for target in (path, tmp_path / "missing.json"):
        with pytest.raises(InputFileError) as whole:
            read_json_file(target)
        with pytest.raises(InputFileError) as streamed:
            read_streamed(target)
        assert streamed.value.problems == whole.value.problems


def test_more_lines_than_a_request_may_have_are_read_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonstream, "MAX_PROJECTS", 2)
    path = tmp_path / "request.json"
    path.write_text("{" + HEADER + ', "projects": [' + lines(3) + "]}")
    with pytest.raises(ReadWhole):
        read_streamed(path)


def recommended(tmp_path: Path, text: str, name: str, **options: Any) -> bytes:
    path = tmp_path / f"{name}.json"
    path.write_text(text, encoding="utf-8")
    output = tmp_path / f"{name}-result.json"
    stream_recommendation(path, output=output, **options)
    return output.read_bytes()


@pytest.mark.parametrize("options", [{}, {"envelope": "500000", "confirmed": True}, {"fiscal_year": 2021}])
def test_the_command_decides_the_same_in_any_key_order(tmp_path: Path, options: dict[str, Any]) -> None:
    raw = demo_request(400, seed=11)
    usual = recommended(tmp_path, json.dumps(raw, ensure_ascii=False, default=str), "usual", **options)
    projects = raw.pop("projects")
    first = recommended(tmp_path, json.dumps({"projects": projects, **raw}, default=str), "first", **options)
    middle = {"fiscal_year": raw.pop("fiscal_year"), "departments": raw.pop("departments"), "projects": projects}
    after = recommended(tmp_path, json.dumps({**middle, **raw}, default=str), "middle", **options)
    assert usual == first == after
    assert json.loads(usual)["lines"]
