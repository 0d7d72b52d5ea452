"""Bad records are all reported at once, each naming the record and the field; the CLI reports them on stderr.

parse_request raises InvalidInput whose problems each carry ``loc`` (the JSON path), ``record`` (the
project_id / department_id, or the position when there is none) and a message. The command line
prints every problem on stderr, one a line, exits with status 2 and prints nothing on stdout.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import Workbook, load_workbook

from service.domain.errors import InvalidInput, Problem
from service.domain.records import parse_request

BIN = Path(sys.executable).parent / "budget-rules"
CLI = [str(BIN)] if BIN.exists() else [sys.executable, "-c", "from service.cli import main; main()"]
MONEY_TEXT = re.compile(r"^-?\d+\.\d{2}$")


def good_request() -> dict[str, Any]:
    return {
        "fiscal_year": 2021,
        "departments": [
            {"department_id": "D01", "name": "县农业农村局", "overall_score": 92},
            {"department_id": "D02", "name": "县卫生健康局"},
        ],
        "projects": [
            {
                "project_id": "P001",
                "department_id": "D01",
                "name": "动物防疫",
                "requested": "1200000.00",
                "target_review_score": 81,
                "evaluation_score": 93,
            },
            {
                "project_id": "P002",
                "department_id": "D02",
                "name": "健康教育",
                "requested": "200000.00",
                "target_review_score": 65,
                "evaluation_score": 70,
                "idle_balance": "5000.00",
                "idle_since_year": 2018,
            },
            {
                "project_id": "P003",
                "department_id": "D02",
                "name": "公用经费",
                "kind": "public_operating",
                "requested": "1000000000000.00",
            },
        ],
    }


def problems_of(raw: Any) -> list[Problem]:
    with pytest.raises(InvalidInput) as caught:
        parse_request(raw)
    problems = caught.value.problems
    assert problems, "InvalidInput without problems"
    return problems


def located(problems: list[Problem], loc: tuple[str | int, ...]) -> list[Problem]:
    return [p for p in problems if tuple(p.loc) == loc]


def test_the_good_request_is_valid() -> None:
    request = parse_request(good_request())
    assert request.projects[2].requested == Decimal("1000000000000.00")
    assert request.projects[1].idle_since_year == 2018


# --------------------------------------------------------------------------- one field at a time

# (what, project field, bad value, words the message must contain)
PROJECT_FIELD_CASES: list[tuple[str, str, Any, tuple[str, ...]]] = [
    ("negative money", "requested", "-5", ("below 0",)),
    ("negative money as a number", "requested", -0.01, ("below 0",)),
    ("three decimals", "requested", "1.001", ("2 decimal",)),
    ("three decimals as a Decimal", "requested", Decimal("10.005"), ("2 decimal",)),
    ("a list for money", "requested", [1], ()),
    ("a boolean for money", "requested", True, ("boolean",)),
    ("text for money", "requested", "abc", ()),
    ("money Decimal NaN", "requested", Decimal("NaN"), ("finite",)),
    ("money float nan", "requested", float("nan"), ("finite",)),
    ("money 'NaN' text", "requested", "NaN", ("finite",)),
    ("money 'Infinity' text", "requested", "Infinity", ("finite",)),
    ("money float inf", "requested", float("inf"), ("finite",)),
    ("money '-Infinity' text", "requested", "-Infinity", ("finite",)),
    ("money 'sNaN' text", "requested", "sNaN", ("finite",)),
    ("prior year NaN", "prior_year_budget", "NaN", ("finite",)),
    ("prior year negative", "prior_year_budget", "-1.00", ("below 0",)),
    ("score above 100", "target_review_score", 100.01, ("above 100",)),
    ("score below 0", "evaluation_score", -0.5, ("below 0",)),
    ("score Decimal NaN", "evaluation_score", Decimal("NaN"), ("finite",)),
    ("score float nan", "target_review_score", float("nan"), ("finite",)),
    ("score 'NaN' text", "evaluation_score", "NaN", ("finite",)),
    ("score 'Infinity' text", "target_review_score", "Infinity", ("finite",)),
    ("score as text", "evaluation_score", "good", ()),
    ("score boolean", "evaluation_score", False, ("boolean",)),
    ("score with 7 decimals", "evaluation_score", "65.0000001", ("decimal places",)),
    ("unknown kind", "kind", "capital", ()),
    ("urgent not a boolean", "urgent", "maybe", ("true or false",)),
    ("empty name", "name", "", ()),
    ("blank name", "name", "   ", ()),
    ("name a number", "name", 12, ()),
    ("project_id longer than 64", "project_id", "P" * 65, ("64",)),
    ("empty project_id", "project_id", "", ()),
    ("idle year as text", "idle_since_year", "last year", ()),
    ("idle balance NaN", "idle_balance", "NaN", ("finite",)),
]


@pytest.mark.parametrize(
    ("what", "field", "value", "words"), PROJECT_FIELD_CASES, ids=[c[0] for c in PROJECT_FIELD_CASES]
)
def test_a_bad_project_field_is_named(what: str, field: str, value: Any, words: tuple[str, ...]) -> None:
    raw = good_request()
    raw["projects"][0][field] = value
    problems = problems_of(raw)
    here = located(problems, ("projects", 0, field))
    assert here, f"{what}: no problem at projects.0.{field} in {[str(p) for p in problems]}"
    text = str(here[0])
    assert field in text
    # The record is named by its id, or by its position when the id itself is the problem.
    if field != "project_id":
        assert here[0].record == "project_id P001" and "P001" in text
    else:
        assert here[0].record is not None
    for word in words:
        assert word in here[0].message, (what, here[0].message)
    # Nothing else is reported for a single bad field (no follow-on noise from other records).
    others = [p for p in problems if tuple(p.loc)[:2] != ("projects", 0)]
    assert not others, [str(p) for p in others]


def test_a_float_is_read_through_its_decimal_text() -> None:
    raw = good_request()
    raw["projects"][0]["requested"] = 0.1
    raw["projects"][0]["evaluation_score"] = 64.99
    request = parse_request(raw)
    assert request.projects[0].requested == Decimal("0.10")
    assert request.projects[0].evaluation_score == Decimal("64.99")


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", Decimal("NaN"), float("nan"), "1.234", "-1"])
def test_a_bad_envelope_is_named(bad: Any) -> None:
    raw = good_request()
    raw["envelope"] = bad
    problems = problems_of(raw)
    assert [tuple(p.loc) for p in problems] == [("envelope",)], [str(p) for p in problems]


@pytest.mark.parametrize("bad", ["NaN", Decimal("Infinity"), float("nan"), 101, -1])
def test_a_bad_department_score_is_named(bad: Any) -> None:
    raw = good_request()
    raw["departments"][1]["overall_score"] = bad
    problems = problems_of(raw)
    here = located(problems, ("departments", 1, "overall_score"))
    assert here and here[0].record == "department_id D02", [str(p) for p in problems]
    assert "D02" in str(here[0]) and "overall_score" in str(here[0])


@pytest.mark.parametrize("year", [1999, 2101, "twenty", None])
def test_a_bad_fiscal_year_is_named(year: Any) -> None:
    raw = good_request()
    raw["fiscal_year"] = year
    assert ("fiscal_year",) in [tuple(p.loc) for p in problems_of(raw)]


def test_cross_record_problems() -> None:
    raw = good_request()
    raw["departments"].append({"department_id": "D01", "name": "重复的部门"})
    raw["projects"].append(dict(raw["projects"][0], name="重复的项目"))
    raw["projects"].append(
        {"project_id": "P009", "department_id": "D77", "name": "x", "requested": "1.00", "idle_balance": "3.00"}
    )
    problems = problems_of(raw)
    texts = [str(p) for p in problems]
    assert located(problems, ("departments", 0, "department_id")), texts
    assert located(problems, ("departments", 2, "department_id")), texts
    dup = located(problems, ("projects", 0, "project_id")) + located(problems, ("projects", 3, "project_id"))
    assert len(dup) == 2 and all("duplicate" in p.message and p.record == "project_id P001" for p in dup), texts
    unknown = located(problems, ("projects", 4, "department_id"))
    assert unknown and "D77" in unknown[0].message and unknown[0].record == "project_id P009", texts
    idle = located(problems, ("projects", 4, "idle_since_year"))
    assert idle and "idle_balance" in idle[0].message, texts
    assert len(problems) == 6, texts


def test_an_idle_year_after_the_fiscal_year_is_refused() -> None:
    raw = good_request()
    raw["projects"][1]["idle_since_year"] = 2022
    assert located(problems_of(raw), ("projects", 1, "idle_since_year"))


def test_unknown_fields_are_named_wherever_they_are() -> None:
    raw = good_request()
    raw["projects"][1]["colour"] = "red"
    raw["departments"][0]["budget"] = 1
    raw["extra"] = True
    locs = {tuple(p.loc) for p in problems_of(raw)}
    assert {("projects", 1, "colour"), ("departments", 0, "budget"), ("extra",)} <= locs


def test_missing_required_fields_are_named() -> None:
    raw = good_request()
    for key in ("requested", "name", "department_id"):
        del raw["projects"][0][key]
    del raw["departments"][1]["name"]
    problems = problems_of(raw)
    locs = {tuple(p.loc): p for p in problems}
    for key in ("requested", "name", "department_id"):
        assert ("projects", 0, key) in locs and "required" in locs[("projects", 0, key)].message
    assert ("departments", 1, "name") in locs


def test_one_request_with_many_problems_reports_all_of_them() -> None:
    raw = good_request()
    bad = {
        "N1": ("requested", "-5"),
        "N2": ("requested", "1.001"),
        "N3": ("target_review_score", 120),
        "N4": ("evaluation_score", Decimal("NaN")),
        "N5": ("requested", float("nan")),
        "N6": ("prior_year_budget", "Infinity"),
        "N7": ("name", ""),
        "N8": ("colour", "red"),
        "N9": ("urgent", "perhaps"),
        "N10": ("kind", "capital"),
    }
    for pid, (field, value) in bad.items():
        raw["projects"].append(
            {"project_id": pid, "department_id": "D01", "name": "x", "requested": "1.00", field: value}
        )
    raw["projects"].append({"project_id": "N11", "department_id": "NOPE", "name": "x", "requested": "1.00"})
    raw["projects"].append(
        {"project_id": "N12", "department_id": "D01", "name": "x", "requested": "1.00", "idle_balance": "9.00"}
    )
    raw["projects"].append({"project_id": "N1", "department_id": "D01", "name": "again", "requested": "1.00"})
    raw["projects"].append({"project_id": "Q" * 65, "department_id": "D01", "name": "x", "requested": "1.00"})
    raw["departments"].append({"department_id": "D02", "name": "again"})
    raw["departments"].append({"department_id": "D03", "name": "x", "overall_score": "NaN"})
    problems = problems_of(raw)
    texts = [str(p) for p in problems]
    base = len(good_request()["projects"])
    for k, (pid, (field, _)) in enumerate(bad.items()):
        here = located(problems, ("projects", base + k, field))
        assert here and here[0].record == f"project_id {pid}", (pid, field, texts)
    n = base + len(bad)
    assert located(problems, ("projects", n, "department_id")), texts
    assert located(problems, ("projects", n + 1, "idle_since_year")), texts
    assert located(problems, ("projects", n + 2, "project_id")), texts  # duplicate N1
    assert located(problems, ("projects", base, "project_id")), texts  # the first N1
    assert located(problems, ("projects", n + 3, "project_id")), texts  # too long
    assert located(problems, ("departments", 1, "department_id")), texts
    assert located(problems, ("departments", 2, "department_id")), texts
    assert located(problems, ("departments", 3, "overall_score")), texts
    assert len(problems) == len(bad) + 8, texts
    for p in problems:
        assert p.record, f"{p} does not name its record"
        assert str(p.loc[-1]) in str(p), f"{p} does not name its field"


# Regression: ids given as arrays or objects used to crash parse_request with TypeError (unhashable).
def test_a_list_as_department_id_is_reported_not_crashed() -> None:
    raw = good_request()
    raw["departments"][1]["department_id"] = ["D02"]
    assert located(problems_of(raw), ("departments", 1, "department_id"))


def test_an_object_as_project_id_is_reported_not_crashed() -> None:
    raw = good_request()
    raw["projects"][1]["project_id"] = {"id": "P002"}
    assert located(problems_of(raw), ("projects", 1, "project_id"))


def test_a_list_as_a_projects_department_id_is_reported() -> None:
    raw = good_request()
    raw["projects"][1]["department_id"] = ["D02"]
    assert located(problems_of(raw), ("projects", 1, "department_id"))


@pytest.mark.parametrize("raw", [[], "request", None, {"fiscal_year": 2021, "projects": "x", "departments": 3}])
def test_a_request_of_the_wrong_shape_is_refused(raw: Any) -> None:
    problems = problems_of(raw)
    assert all(isinstance(p, Problem) for p in problems)


def test_records_of_the_wrong_shape_are_named_by_position() -> None:
    raw = good_request()
    raw["projects"].append(7)
    problems = problems_of(raw)
    assert [p.record for p in problems] == ["projects[3]"]


def test_the_money_limit_is_stated_plainly() -> None:
    raw = good_request()
    raw["projects"][0]["requested"] = "10000000000000.00"
    (problem,) = problems_of(raw)
    assert "Decimal(" not in problem.message
    assert "9999999999999.99" in problem.message


# --------------------------------------------------------------------------- the command line


REPO = Path(__file__).resolve().parents[1]
_CLI_ENV: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def _policy_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Run the CLI on a copy of the shipped wuding-county ruleset and its policies (BUDGET_RULES_HOME).

    These tests are about request input; a policy file being edited elsewhere in the repository must
    not make them fail (test_policy_files checks the repository's own policy files).
    """
    home = tmp_path_factory.mktemp("home")
    (home / "policies").mkdir()
    (home / "rulesets").mkdir()
    ruleset = REPO / "rulesets" / "wuding-county.yaml"
    shutil.copy(ruleset, home / "rulesets")
    for binding in yaml.safe_load(ruleset.read_text(encoding="utf-8"))["policies"]:
        shutil.copy(REPO / "policies" / f"{binding['policy']}.yaml", home / "policies")
    _CLI_ENV.update(os.environ, BUDGET_RULES_HOME=str(home))


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, timeout=120, encoding="utf-8", env=_CLI_ENV
    )


def write_json(path: Path, raw: Any) -> Path:
    path.write_text(json.dumps(raw, ensure_ascii=False, default=str), encoding="utf-8")
    return path


def test_cli_reports_every_problem_on_stderr(tmp_path: Path) -> None:
    raw = good_request()
    raw["projects"][0]["requested"] = "-5"
    raw["projects"][1]["department_id"] = "NOPE"
    raw["projects"][1]["evaluation_score"] = 101
    raw["projects"][2]["requested"] = "1.001"
    raw["projects"][2]["colour"] = "red"
    raw["projects"].append({"project_id": "P004", "department_id": "D01", "name": "", "requested": "1.00"})
    done = run_cli("recommend", write_json(tmp_path / "bad.json", raw))
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    expected = [
        ("P001", "requested"),
        ("P002", "department_id"),
        ("P002", "evaluation_score"),
        ("P003", "requested"),
        ("P003", "colour"),
        ("P004", "name"),
    ]
    for pid, field in expected:
        assert any(pid in line and field in line for line in lines), (pid, field, lines)
    assert len(lines) == len(expected), lines
    for line in lines:
        assert re.search(r"P00\d", line) and any(f in line for _, f in expected), line


def test_cli_json_with_a_nan_literal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nan.json"
    text = json.dumps(good_request(), ensure_ascii=False).replace('"1200000.00"', "NaN")
    path.write_text(text, encoding="utf-8")
    done = run_cli("recommend", path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "NaN" in done.stderr and "Traceback" not in done.stderr


def test_cli_array_id_is_an_input_problem(tmp_path: Path) -> None:
    raw = good_request()
    raw["departments"][1]["department_id"] = ["D02"]
    done = run_cli("recommend", write_json(tmp_path / "array-id.json", raw))
    assert "Traceback" not in done.stderr
    assert done.returncode == 2
    assert "department_id" in done.stderr


def _write_csv_folder(folder: Path, raw: dict[str, Any], encoding: str = "utf-8") -> Path:
    folder.mkdir()
    for kind, name in (("departments", "departments.csv"), ("projects", "projects.csv")):
        records = raw[kind]
        fields = sorted({k for r in records for k in r})
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        (folder / name).write_bytes(buffer.getvalue().encode(encoding))
    return folder


def test_cli_csv_folder_in_gbk_is_refused_clearly(tmp_path: Path) -> None:
    folder = _write_csv_folder(tmp_path / "gbk", good_request(), encoding="gbk")
    done = run_cli("recommend", folder, "--fiscal-year", "2021")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert "UTF-8" in done.stderr and ".csv" in done.stderr


def test_cli_csv_folder_problems_name_the_row(tmp_path: Path) -> None:
    raw = good_request()
    raw["projects"][1]["requested"] = "-3"
    folder = _write_csv_folder(tmp_path / "bad", raw)
    done = run_cli("recommend", folder, "--fiscal-year", "2021")
    assert done.returncode == 2 and done.stdout == ""
    (line,) = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert "projects.csv" in line and "P002" in line and "requested" in line


def _json_result(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _without_id(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "decision_id"}


@pytest.fixture(scope="module")
def json_result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = write_json(tmp_path_factory.mktemp("req") / "good.json", good_request())
    return _json_result(run_cli("recommend", path, "--format", "json"))


def test_cli_json_output(json_result: dict[str, Any]) -> None:
    lines = json_result["lines"]
    assert [ln["project_id"] for ln in lines] == ["P001", "P002", "P003"]
    for line in lines:
        for key in ("requested", "after_policies", "recommended", "allocated_from_pool", "reclaimed"):
            assert MONEY_TEXT.match(line[key]), (key, line[key])
    assert lines[2]["requested"] == "1000000000000.00"
    assert json_result["summary"]["totals"]["reclaimed"] == "5000.00"


def test_cli_both_engines_give_the_same_json(tmp_path: Path, json_result: dict[str, Any]) -> None:
    path = write_json(tmp_path / "good.json", good_request())
    plain = _json_result(run_cli("recommend", path, "--engine", "plain"))
    assert _without_id(plain) == _without_id(json_result)


def test_cli_csv_folder_input_gives_the_json_result(tmp_path: Path, json_result: dict[str, Any]) -> None:
    raw = good_request()
    folder = _write_csv_folder(tmp_path / "csv", raw)
    got = _json_result(run_cli("recommend", folder, "--fiscal-year", "2021"))
    assert _without_id(got) == _without_id(json_result)


def test_cli_xlsx_input_gives_the_json_result(tmp_path: Path, json_result: dict[str, Any]) -> None:
    raw = good_request()
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "request"
    sheet.append(["fiscal_year", 2021])
    for kind in ("departments", "projects"):
        records = raw[kind]
        fields = sorted({k for r in records for k in r})
        page = workbook.create_sheet(kind)
        page.append(fields)
        for r in records:
            page.append([r.get(f) for f in fields])
    path = tmp_path / "request.xlsx"
    workbook.save(path)
    got = _json_result(run_cli("recommend", path))
    assert _without_id(got) == _without_id(json_result)


def test_cli_csv_output(tmp_path: Path, json_result: dict[str, Any]) -> None:
    path = write_json(tmp_path / "good.json", good_request())
    done = run_cli("recommend", path, "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout.lstrip("\ufeff"))))
    assert [r["project_id"] for r in rows] == ["P001", "P002", "P003"]
    for row, line in zip(rows, json_result["lines"], strict=True):
        for key in ("requested", "after_policies", "recommended", "status"):
            assert row[key] == str(line[key]), (key, row[key], line[key])


def test_cli_table_output(tmp_path: Path, json_result: dict[str, Any]) -> None:
    path = write_json(tmp_path / "good.json", good_request())
    done = run_cli("recommend", path, "--format", "table")
    assert done.returncode == 0, done.stderr
    for line in json_result["lines"]:
        assert line["project_id"] in done.stdout
    assert json_result["summary"]["totals"]["recommended"] in done.stdout.replace(",", "")


def test_cli_xlsx_output_has_exact_numeric_money(tmp_path: Path, json_result: dict[str, Any]) -> None:
    raw = good_request()
    raw["projects"][0]["requested"] = "1234567890123.45"
    raw["projects"][1]["requested"] = "0.01"
    path = write_json(tmp_path / "good.json", raw)
    expected = _json_result(run_cli("recommend", path))
    out = tmp_path / "result.xlsx"
    done = run_cli("recommend", path, "--format", "xlsx", "--headers", "en", "--output", out)
    assert done.returncode == 0, done.stderr
    assert out.exists() and out.stat().st_size > 0
    sheet = load_workbook(out)["lines"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert [r["project_id"] for r in rows] == [ln["project_id"] for ln in expected["lines"]]
    for row, line in zip(rows, expected["lines"], strict=True):
        for key in ("requested", "after_policies", "recommended", "allocated_from_pool", "reclaimed"):
            value = row[key]
            assert isinstance(value, int | float | Decimal) and not isinstance(value, bool), (key, value)
            assert Decimal(repr(value)).quantize(Decimal("0.01")) == Decimal(line[key]), (key, value, line[key])
    assert any(Decimal(repr(r["requested"])) == Decimal("1234567890123.45") for r in rows)


def test_cli_xlsx_needs_an_output_file(tmp_path: Path) -> None:
    path = write_json(tmp_path / "good.json", good_request())
    done = run_cli("recommend", path, "--format", "xlsx")
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr


def test_cli_envelope_under_one_percent_of_requests_needs_yes(tmp_path: Path) -> None:
    """An envelope typed in 万元 into a 元 field is refused with a clear message unless confirmed."""
    raw = copy.deepcopy(good_request())
    total = sum((Decimal(p["requested"]) for p in raw["projects"]), Decimal(0))
    path = write_json(tmp_path / "good.json", raw)
    tiny = str((total / 1000).quantize(Decimal("0.01")))
    refused = run_cli("recommend", path, "--envelope", tiny)
    assert refused.returncode == 2 and refused.stdout == ""
    assert "是否把万元当成了元" in refused.stderr and "--yes" in refused.stderr
    assert _json_result(run_cli("recommend", path, "--envelope", tiny, "--yes"))["envelope"] == tiny
    plenty = str(total)
    assert _json_result(run_cli("recommend", path, "--envelope", plenty))["envelope"] == f"{total:.2f}"


def test_cli_envelope_option_overrides_the_request(tmp_path: Path) -> None:
    raw = copy.deepcopy(good_request())
    path = write_json(tmp_path / "good.json", raw)
    got = _json_result(run_cli("recommend", path, "--envelope", "100万元", "--yes"))
    assert got["envelope"] == "1000000.00"
    in_wan = _json_result(run_cli("recommend", path, "--envelope", "100", "--envelope-unit", "万元", "--yes"))
    assert in_wan["envelope"] == "1000000.00" and in_wan["lines"] == got["lines"]
    totals = got["summary"]["totals"]
    from_envelope = sum(
        (Decimal(ln["recommended"]) - Decimal(ln["allocated_from_pool"]) for ln in got["lines"]), Decimal(0)
    )
    assert from_envelope + Decimal(totals["reserve_envelope"]) == Decimal("1000000.00")
    for typed in ("lots", "1,000,000.00", "1_000_000", "１０００"):  # plain decimal text only (issue 10.9)
        bad = run_cli("recommend", path, "--envelope", typed)
        assert bad.returncode == 2 and bad.stdout == "" and "envelope" in bad.stderr and "Traceback" not in bad.stderr
