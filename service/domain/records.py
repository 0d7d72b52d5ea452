"""Budget records: departments (预算部门/乡镇), project lines (项目支出/公用经费/"三公"经费), requests.

Field-level checks are declared with pydantic (types, ranges, at most two decimals for money, no
NaN/Infinity, no unknown fields); the checks that need the whole request (duplicate ids, unknown
departments, idle balances without their year) follow in :func:`parse_request`. Every problem is
collected and reported at once, each naming the record and the field.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    TypeAdapter,
    ValidationError,
)

from service.domain import gcpause
from service.domain.errors import InvalidInput, Problem
from service.domain.money import FEN, plain_decimal


class DepartmentKind(StrEnum):
    department = "department"
    township = "township"


class LineKind(StrEnum):
    project = "project"  # 项目支出
    public_operating = "public_operating"  # 公用经费
    three_public = "three_public"  # "三公"经费


class Protection(StrEnum):
    """Protected spending (POLICIES.md policy 0): 保基本民生 / 保工资 / 保运转 / 法定支出 / 上级配套."""

    none = "none"
    basic_livelihood = "basic_livelihood"  # 保基本民生
    wages = "wages"  # 保工资
    operations = "operations"  # 保运转
    statutory = "statutory"  # 法定支出
    matching = "matching"  # 上级配套


_NON_FINITE_WORDS = {"nan", "snan", "inf", "infinity"}


def _refuse_non_finite_text(text: str) -> None:
    if text.strip().lstrip("+-").casefold() in _NON_FINITE_WORDS:
        raise ValueError("must be a finite number (NaN and Infinity are not allowed)")


def _money_input(value: Any) -> Any:
    """Accept money as plain decimal text or a number; a float is read through its decimal text (0.1 → 0.10).

    Text must be ASCII digits with one optional point (no "5,00", "1_0", full-width or Arabic-Indic
    digits): anything else is refused rather than guessed at.
    """
    if isinstance(value, bool):
        raise ValueError("money must be a decimal amount, not a boolean")
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("money must not be empty")
        _refuse_non_finite_text(value)
        number = plain_decimal(value)
        if number is None:
            raise ValueError(
                "must be plain decimal text such as 1234.56 (ASCII digits, one optional point, no separators)"
            )
        return number
    return value


def _score_input(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a score must be a number, not a boolean")
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        _refuse_non_finite_text(value)
        number = plain_decimal(value)
        if number is None:
            raise ValueError("a score must be plain decimal text such as 85.5")
        return number
    return value


_TRUE_WORDS = {"true", "1", "yes", "y", "是", "t"}
_FALSE_WORDS = {"false", "0", "no", "n", "否", "f", ""}


def _bool_input(value: Any) -> Any:
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        raise ValueError("must be true or false (是/否)")
    return value


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


PROTECTION_TITLES: dict[str, tuple[str, str]] = {
    "none": ("非保障类", "not protected"),
    "basic_livelihood": ("保基本民生", "basic livelihood"),
    "wages": ("保工资", "wages"),
    "operations": ("保运转", "operations"),
    "statutory": ("法定支出", "statutory spending"),
    "matching": ("上级配套", "matching of upper-level funds"),
}
PROTECTION_WORDS = {
    "保基本民生": Protection.basic_livelihood,
    "保工资": Protection.wages,
    "保运转": Protection.operations,
    "法定支出": Protection.statutory,
    "上级配套": Protection.matching,
    "无": Protection.none,
    "否": Protection.none,
}


def _protection_input(value: Any) -> Any:
    """A blank cell (CSV, workbook) means no protection; the GLOSSARY's Chinese words are accepted."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return Protection.none
    if isinstance(value, str):
        text = value.strip()
        return PROTECTION_WORDS.get(text, text)
    return value


# The constraints come before the BeforeValidator so that pydantic-core checks them natively on the decimal;
# after it, pydantic checks them in Python (a third of the validation time). The BeforeValidator still runs
# first: annotations wrap the ones before them.
Money = Annotated[
    Decimal,
    Field(ge=0, le=Decimal("9999999999999.99"), decimal_places=2, allow_inf_nan=False),
    BeforeValidator(_money_input),
    AfterValidator(lambda amount: amount.quantize(FEN)),
]
Score = Annotated[
    Decimal,
    Field(ge=0, le=100, decimal_places=6, allow_inf_nan=False),
    BeforeValidator(_score_input),
]
Flag = Annotated[bool, BeforeValidator(_bool_input)]
RecordId = Annotated[str, Field(min_length=1, max_length=64)]
Text = Annotated[str, Field(min_length=1, max_length=500)]
OptionalCode = Annotated[Annotated[str, Field(max_length=64)] | None, BeforeValidator(_blank_to_none)]
OptionalText = Annotated[Annotated[str, Field(max_length=500)] | None, BeforeValidator(_blank_to_none)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Department(_Record):
    department_id: RecordId
    name: Text
    kind: DepartmentKind = DepartmentKind.department
    overall_score: Score | None = None  # 部门整体支出绩效评价得分


ProtectionInput = Annotated[Protection, BeforeValidator(_protection_input)]


class _ExactProject(_Record):
    """A project line as it may be written (the rules): what :class:`Project` accepts, and its error messages."""

    project_id: RecordId
    department_id: RecordId
    name: Text
    kind: LineKind = LineKind.project
    requested: Money  # 申报数
    prior_year_budget: Money | None = None
    target_review_score: Score | None = None  # 绩效目标评审得分
    evaluation_score: Score | None = None  # 绩效评价得分
    idle_balance: Money = Decimal("0.00")  # 结转结余
    idle_since_year: Annotated[int, Field(ge=1900, le=2100)] | None = None
    purpose_code: OptionalCode = None
    beneficiary: OptionalText = None
    urgent: Flag = False  # 亟需支持的领域
    protection: ProtectionInput = Protection.none  # 保障类


# The usual forms of a well-made JSON request, which pydantic-core checks without calling Python: money as text
# to the fen, whole-number scores, true/false, protection by its code, non-blank text. Each field of Project
# tries its usual form first and the exact rule (_ExactProject's, with its Python validators) when that fails.
# Every usual form is a value the exact rule accepts and turns into the same value, so a line gives the same
# Project either way, about twice as fast (4.9 against 9.6 µs a line on 2,000 demo lines).
if TYPE_CHECKING:  # what the forms give: a Decimal (the text or whole number is read by Decimal itself)
    _MoneyText = Decimal
    _WholeScore = Decimal
else:
    _MoneyText = Annotated[str, Field(pattern=r"^[0-9]{1,13}\.[0-9]{2}$"), AfterValidator(Decimal)]
    _WholeScore = Annotated[StrictInt, Field(ge=0, le=100), AfterValidator(Decimal)]
# Text that Python's str.strip() leaves non-blank (the exact rule's blank test): pydantic-core strips only Unicode
# white space, which leaves the separators U+001C..U+001F that Python strips ("\x1f" is blank to the exact rule).
_NOT_BLANK = r"[^\s\x1c-\x1f]"
_Code = Annotated[str, Field(min_length=1, max_length=64, pattern=_NOT_BLANK)]
_Words = Annotated[str, Field(min_length=1, max_length=500, pattern=_NOT_BLANK)]
_LEFT_FIRST = Field(union_mode="left_to_right")


class Project(_Record):
    project_id: RecordId
    department_id: RecordId
    name: Text
    kind: LineKind = LineKind.project
    requested: Annotated[_MoneyText | Money, _LEFT_FIRST]  # 申报数
    prior_year_budget: Annotated[_MoneyText | Money, _LEFT_FIRST] | None = None
    target_review_score: Annotated[_WholeScore | Score, _LEFT_FIRST] | None = None  # 绩效目标评审得分
    evaluation_score: Annotated[_WholeScore | Score, _LEFT_FIRST] | None = None  # 绩效评价得分
    idle_balance: Annotated[_MoneyText | Money, _LEFT_FIRST] = Decimal("0.00")  # 结转结余
    idle_since_year: Annotated[int, Field(ge=1900, le=2100)] | None = None
    purpose_code: Annotated[_Code | OptionalCode, _LEFT_FIRST] = None
    beneficiary: Annotated[_Words | OptionalText, _LEFT_FIRST] = None
    urgent: Annotated[StrictBool | Flag, _LEFT_FIRST] = False  # 亟需支持的领域
    protection: Annotated[Protection | ProtectionInput, _LEFT_FIRST] = Protection.none  # 保障类


class BudgetRequest(_Record):
    fiscal_year: Annotated[int, Field(ge=2000, le=2100)]
    envelope: Money | None = None  # 县级财力可安排数
    ruleset: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    departments: list[Department] = Field(max_length=100_000)
    projects: list[Project] = Field(max_length=2_000_000)

    def department_map(self) -> dict[str, Department]:
        return {d.department_id: d for d in self.departments}


_FRIENDLY = {
    "missing": "is required",
    "value_error": "{error}",
    "extra_forbidden": "is not a known field",
    "decimal_max_places": "has more than 2 decimal places (money is to the fen)",
    "finite_number": "must be a finite number (NaN and Infinity are not allowed)",
    "greater_than_equal": "must not be below {ge}",
    "less_than_equal": "must not be above {le}",
}


def _plain(value: Any) -> str:
    """pydantic reports decimal bounds as "Decimal('…')": show the number only."""
    text = str(value)
    return text[9:-2] if text.startswith("Decimal('") and text.endswith("')") else text


def record_name(raw: Mapping[str, Any], loc: tuple[str | int, ...]) -> str | None:
    """The human name of the record a location points into: its id, else its position."""
    if len(loc) >= 2 and loc[0] in ("projects", "departments") and isinstance(loc[1], int):
        items = raw.get(str(loc[0]))
        key = "project_id" if loc[0] == "projects" else "department_id"
        if isinstance(items, list) and 0 <= loc[1] < len(items) and isinstance(items[loc[1]], Mapping):
            ident = items[loc[1]].get(key)
            if isinstance(ident, str) and ident:
                return f"{key} {ident}"
        return f"{loc[0]}[{loc[1]}]"
    return None


def field_problems(error: ValidationError, raw: Mapping[str, Any]) -> list[Problem]:
    out = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        ctx = {k: _plain(v) for k, v in item.get("ctx", {}).items()}
        message = _FRIENDLY.get(item["type"], item["msg"]).format(**ctx)
        if item["type"] == "decimal_max_places" and loc and loc[-1] not in Project.model_fields:
            message = item["msg"]
        if (
            item["type"] == "decimal_max_places"
            and loc
            and loc[-1]
            in (
                "target_review_score",
                "evaluation_score",
                "overall_score",
            )
        ):
            message = "has more than 6 decimal places"
        if "input" in item and item["type"] not in ("missing", "extra_forbidden"):
            got = item["input"]
            # money and scores reach the constraints as Decimal (made from the text as written): show that text
            message = f"{message} (got {str(got)!r})" if isinstance(got, Decimal) else f"{message} (got {got!r})"
        out.append(Problem(loc=loc, message=message, record=record_name(raw, loc)))
    return out


def parse_request(raw: Any, origins: Mapping[tuple[str, int], str] | None = None) -> BudgetRequest:
    """Validate a raw request (parsed JSON, CSV or workbook) into a :class:`BudgetRequest`.

    Raises :class:`InvalidInput` listing every problem found, field-level and cross-record.
    """
    with gcpause.paused():  # thousands of small records that live on: see service/domain/gcpause.py
        validator = RequestValidator(raw)
        items = [item for _, item in validator.items()]
        projects = [p for p in validator.projects(0, items) if p is not None]
        validator.finish(origins)
    assert validator.header is not None
    header = validator.header
    return BudgetRequest.model_construct(
        fiscal_year=header.fiscal_year,
        envelope=header.envelope,
        ruleset=header.ruleset,
        departments=header.departments,
        projects=projects,
    )


class RequestHeader(_Record):
    """A request without its project lines, which are validated one at a time."""

    fiscal_year: Annotated[int, Field(ge=2000, le=2100)]
    envelope: Money | None = None
    ruleset: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    departments: list[Department] = Field(max_length=100_000)
    projects: list[Any] = Field(max_length=2_000_000, exclude=True)


class RequestValidator:
    """Validates a request one project line at a time, so no model of a whole large request is needed.

    Usage: construct with the raw request; for each ``(index, item)`` of :meth:`items`, call
    :meth:`project` (a validated :class:`Project`, or ``None`` when it has problems); then
    :meth:`finish` raises :class:`InvalidInput` with every problem, field-level and cross-record.
    """

    def __init__(self, raw: Any) -> None:
        self.problems: list[Problem] = []
        self.header: RequestHeader | None = None
        self._raw = raw if isinstance(raw, Mapping) else {}
        self._first_index: dict[str, int] = {}
        self._reported_first: set[str] = set()
        if not isinstance(raw, Mapping):
            self.problems.append(Problem(loc=(), message="the request must be a JSON object"))
            return
        try:
            self.header = RequestHeader.model_validate(raw)
        except ValidationError as error:
            self.problems += field_problems(error, raw)
        departments = raw.get("departments")
        self._departments: set[str] = set()
        if isinstance(departments, list):
            counts = Counter(
                d["department_id"]
                for d in departments
                if isinstance(d, Mapping) and isinstance(d.get("department_id"), str)
            )
            self._departments = set(counts)
            for i, d in enumerate(departments):
                if (
                    isinstance(d, Mapping)
                    and isinstance(d.get("department_id"), str)
                    and counts[d["department_id"]] > 1
                ):
                    who = f"department_id {d['department_id']}"
                    self.problems.append(Problem(("departments", i, "department_id"), "duplicate department_id", who))
        fiscal_year = raw.get("fiscal_year")
        self._fiscal_year = (
            self.header.fiscal_year if self.header else (fiscal_year if isinstance(fiscal_year, int) else None)
        )

    def items(self) -> list[tuple[int, Any]]:
        projects = self._raw.get("projects")
        return list(enumerate(projects)) if isinstance(projects, list) else []

    def projects(self, start: int, items: Sequence[Any]) -> list[Project | None]:
        """Validate a run of project lines in one call (much cheaper per line than one at a time)."""
        try:
            models = _PROJECTS.validate_python(items)
        except ValidationError:
            return [self.project(start + k, item) for k, item in enumerate(items)]
        for k, model in enumerate(models):
            self._check(start + k, model, f"project_id {model.project_id}")
        return list(models)

    def project(self, index: int, item: Any) -> Project | None:
        """Validate one project line; its problems are kept for :meth:`finish`."""
        who = _project_name(item, index)
        try:
            project = Project.model_validate(item)
        except ValidationError:
            try:  # the exact rule names the problem as written (a failed union would list each of its forms)
                _ExactProject.model_validate(item)
            except ValidationError as exact:
                error = exact
            else:  # cannot happen: Project accepts what _ExactProject accepts
                raise AssertionError(f"project line {index} is refused only by the usual forms") from None
            for p in field_problems(error, {}):
                self.problems.append(Problem(("projects", index, *p.loc), p.message, who))
            if isinstance(item, Mapping):
                self._check_raw(index, item, who)
            return None
        self._check(index, project, who)
        return project

    def forget_ids(self) -> None:
        """Forget the project ids seen so far: a worker process checks its chunks for repeated ids one at a
        time (its parent checks them across chunks), and need not keep every id it has seen."""
        self._first_index.clear()
        self._reported_first.clear()

    def _duplicate(self, index: int, project_id: str, who: str) -> None:
        first = self._first_index.setdefault(project_id, index)
        if first == index:
            return
        if project_id not in self._reported_first:
            self._reported_first.add(project_id)
            self.problems.append(Problem(("projects", first, "project_id"), "duplicate project_id", who))
        self.problems.append(Problem(("projects", index, "project_id"), "duplicate project_id", who))

    def _unknown_department(self, index: int, department_id: str, who: str) -> None:
        if department_id not in self._departments:
            self.problems.append(
                Problem(
                    ("projects", index, "department_id"),
                    f"unknown department {department_id!r}: it is not among the request's departments",
                    who,
                )
            )

    def _check(self, index: int, p: Project, who: str) -> None:
        self._duplicate(index, p.project_id, who)
        self._unknown_department(index, p.department_id, who)
        if p.protection is not Protection.none and p.kind is not LineKind.project:
            self.problems.append(
                Problem(
                    ("projects", index, "protection"),
                    f"{p.protection.value} applies only to kind project (项目支出), not to {p.kind.value}",
                    who,
                )
            )
        if p.idle_balance > 0 and p.idle_since_year is None:
            self.problems.append(
                Problem(("projects", index, "idle_since_year"), "is required when idle_balance > 0", who)
            )
        if p.idle_since_year is not None and self._fiscal_year is not None and p.idle_since_year > self._fiscal_year:
            self.problems.append(
                Problem(
                    ("projects", index, "idle_since_year"),
                    f"{p.idle_since_year} is after the fiscal year {self._fiscal_year}",
                    who,
                )
            )

    def _check_raw(self, index: int, item: Mapping[str, Any], who: str) -> None:
        """Cross-record checks on a line that failed field validation, so all problems come at once."""
        pid = item.get("project_id")
        if isinstance(pid, str) and pid:
            self._duplicate(index, pid, who)
        dep = item.get("department_id")
        if isinstance(dep, str) and dep:
            self._unknown_department(index, dep, who)
        protection, kind = item.get("protection"), item.get("kind", "project")
        if isinstance(protection, str) and _protection_input(protection) is not Protection.none and kind != "project":
            self.problems.append(
                Problem(("projects", index, "protection"), f"{protection.strip()} applies only to kind project", who)
            )
        idle = item.get("idle_balance")
        if idle not in (None, "", 0) and item.get("idle_since_year") in (None, ""):
            try:
                positive = Decimal(str(idle)) > 0
            except ArithmeticError:
                positive = False
            if positive:
                self.problems.append(
                    Problem(("projects", index, "idle_since_year"), "is required when idle_balance > 0", who)
                )

    def finish(self, origins: Mapping[tuple[str, int], str] | None = None) -> None:
        if self.problems:
            raise InvalidInput(_with_origins(self.problems, origins))


_PROJECTS = TypeAdapter(list[Project])


def _project_name(item: Any, index: int) -> str:
    if isinstance(item, Mapping) and isinstance(item.get("project_id"), str) and item["project_id"]:
        return f"project_id {item['project_id']}"
    return f"projects[{index}]"


def _with_origins(problems: list[Problem], origins: Mapping[tuple[str, int], str] | None) -> list[Problem]:
    if not origins:
        return problems
    out = []
    for p in problems:
        place = None
        if len(p.loc) >= 2 and isinstance(p.loc[1], int):
            # a workbook names the very cell of a field ("项目!E3"), keyed ("projects.requested", 1)
            cell = origins.get((f"{p.loc[0]}.{p.loc[2]}", p.loc[1])) if len(p.loc) >= 3 else None
            place = cell or origins.get((str(p.loc[0]), p.loc[1]))
        out.append(Problem(p.loc, p.message, p.record, place) if place else p)
    return out
