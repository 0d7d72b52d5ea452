"""Scenario files (``simulations/<id>.yaml``): a dataset, a baseline ruleset, variants and sweeps.

Validated like policy files (pydantic models, unknown fields refused, every problem located); the
JSON Schema in ``schemas/scenario.schema.json`` is generated from these models. Example::

    id: gate-sweep
    title: {zh: 门槛敏感性, en: Target-review gate sensitivity}
    dataset: {path: demo/wuding-county-2021.json}        # or {generate: {projects: 100000, seed: 2021}}
    ruleset: wuding-county
    variants:
      - name: stricter
        params: {target-review-gate: {min_score: 70}}
        disable: [department-tilt]
        envelope: {percent: -5}                           # or {amount: "1000.00"} / {delta: "-100.00"}
        transforms:
          - {shift_score: evaluation_score, by: -5}       # clamped to 0–100
          - {scale_money: idle_balance, factor: 2}        # rounded half up to the fen
    sweeps:
      - name: gate
        axes: [{parameter: target-review-gate.min_score, from: 50, to: 80, step: 1}]
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.domain.errors import InvalidPolicy, Problem
from service.domain.policy import SLUG, Bilingual
from service.policyfiles import parse_model, read_yaml

MAX_POINTS = 10_000  # per sweep (the product of its axes), and per axis
MAX_EVALUATIONS = 20_000  # baseline + every variant + every sweep point of one scenario
ENVELOPE_AXES = ("envelope.percent", "envelope.amount", "envelope.delta")
PARAMETER = r"^([a-z0-9][a-z0-9-]*\.[a-z_][a-z0-9_]*|envelope\.(percent|amount|delta))$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Generated(_Strict):
    """A synthetic county from ``service.demo.generate_request`` (deterministic for a seed)."""

    projects: int = Field(ge=0, le=2_000_000)
    seed: int = 2021
    fiscal_year: int = Field(default=2021, ge=2000, le=2100)


class Dataset(_Strict):
    """Exactly one of ``path`` (a request JSON, relative to the repository) or ``generate``."""

    path: str | None = Field(default=None, description="request JSON, relative to the repository root")
    generate: Generated | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Dataset:
        if (self.path is None) == (self.generate is None):
            raise ValueError("a dataset is either a path or generate, not both and not neither")
        if self.path is not None and (Path(self.path).is_absolute() or ".." in Path(self.path).parts):
            raise ValueError("a dataset path is relative to the repository and stays inside it")
        return self


class EnvelopeChange(_Strict):
    """Exactly one of: a new ``amount``, a signed ``delta``, or a ``percent`` change (half up to the fen)."""

    amount: Decimal | None = Field(default=None, ge=0, decimal_places=2)
    delta: Decimal | None = Field(default=None, decimal_places=2)
    percent: Decimal | None = Field(default=None, ge=-100, le=1000, decimal_places=6)

    @model_validator(mode="after")
    def _one_change(self) -> EnvelopeChange:
        if sum(v is not None for v in (self.amount, self.delta, self.percent)) != 1:
            raise ValueError("an envelope change is exactly one of amount, delta or percent")
        return self


class ShiftScore(_Strict):
    """Add ``by`` points to a score on every line (clamped to 0–100), e.g. every evaluation score −5."""

    shift_score: Literal["target_review_score", "evaluation_score", "department.overall_score"]
    by: Decimal = Field(ge=-100, le=100, decimal_places=6)


class ScaleMoney(_Strict):
    """Multiply an amount on every line by ``factor`` (rounded half up to the fen), e.g. idle balances ×2."""

    scale_money: Literal["requested", "prior_year_budget", "idle_balance"]
    factor: Decimal = Field(ge=0, le=1000, decimal_places=6)


Transform = ShiftScore | ScaleMoney


class Variant(_Strict):
    """A what-if: parameter overrides per policy, policies switched off, envelope and record changes."""

    name: str = Field(pattern=SLUG)
    description: str | None = None
    params: dict[str, dict[str, Any]] = Field(
        default_factory=dict, max_length=200, description="policy id → parameter values"
    )
    disable: list[str] = Field(default_factory=list, max_length=200, description="policy ids switched off")
    envelope: EnvelopeChange | None = None
    transforms: list[Transform] = Field(default_factory=list, max_length=100)


class Axis(_Strict):
    """One swept parameter: ``policy.parameter`` or ``envelope.percent|amount|delta``, over a range or values."""

    parameter: str = Field(pattern=PARAMETER)
    from_: Decimal | None = Field(default=None, alias="from")
    to: Decimal | None = None
    step: Decimal | None = Field(default=None, gt=0)
    values: list[Decimal | str] | None = Field(default=None, min_length=1, max_length=MAX_POINTS)

    @model_validator(mode="after")
    def _range_or_values(self) -> Axis:
        ranged = (self.from_, self.to, self.step)
        if self.values is not None and any(v is not None for v in ranged):
            raise ValueError("an axis has either values or from/to/step")
        if self.values is None and any(v is None for v in ranged):
            raise ValueError("an axis needs from, to and step (or values)")
        if self.values is None and self.to is not None and self.from_ is not None and self.to < self.from_:
            raise ValueError("to is below from")
        count = self.count()
        if count > MAX_POINTS:  # counted, never built: 0 … 10^12 step 1 is refused at once
            raise ValueError(f"the axis {self.parameter} has {_count_text(count)} points; at most {MAX_POINTS}")
        return self

    def count(self) -> int:
        """How many points the axis has, computed arithmetically (nothing is built)."""
        if self.values is not None:
            return len(self.values)
        assert self.from_ is not None and self.to is not None and self.step is not None
        try:
            return int((self.to - self.from_) / self.step) + 1
        except (ArithmeticError, ValueError):  # overflow of a huge range over a tiny step: too many
            return TOO_MANY

    def points(self) -> list[Decimal | str]:
        if self.values is not None:
            return list(self.values)
        assert self.from_ is not None and self.to is not None and self.step is not None
        count = int((self.to - self.from_) / self.step) + 1
        return [self.from_ + k * self.step for k in range(count)]


class Sweep(_Strict):
    """One or two parameters over ranges; every combination is a point (on ``on``, else the baseline)."""

    name: str = Field(pattern=SLUG)
    description: str | None = None
    on: str | None = Field(default=None, description="a variant the sweep starts from (default: the baseline)")
    axes: list[Axis] = Field(min_length=1, max_length=2)

    def points(self) -> list[tuple[Decimal | str, ...]]:
        return list(itertools.product(*(a.points() for a in self.axes)))

    def count(self) -> int:
        """The number of points: the product of the axes' counts (nothing is built)."""
        total = 1
        for axis in self.axes:
            total = min(total * axis.count(), TOO_MANY)
        return total

    @model_validator(mode="after")
    def _bounded(self) -> Sweep:
        count = self.count()
        if count > MAX_POINTS:
            raise ValueError(f"sweep {self.name} has {_count_text(count)} points; at most {MAX_POINTS}")
        return self


TOO_MANY = 10**18  # a count standing for "more than anything allowed"


def _count_text(count: int) -> str:
    return "more than 10^18" if count >= TOO_MANY else f"{count:,}"


class Verification(_Strict):
    """Each evaluation re-runs ``sample`` random lines through the domain path with ``engine``."""

    sample: int = Field(default=200, ge=0, le=100_000)
    engine: Literal["durable-rules", "plain"] = "durable-rules"
    seed: int = 0


class Scenario(_Strict):
    """A scenario file (``simulations/<id>.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Budget Rules simulation scenario")

    id: str = Field(pattern=SLUG)
    title: Bilingual
    description: Bilingual | None = None
    dataset: Dataset
    ruleset: str = Field(
        pattern=r"^[a-z][a-z0-9-]{0,62}[a-z0-9](@[0-9a-f]{12})?$",
        description="the baseline ruleset, optionally pinned to a revision: wuding-county@a014971af71e",
    )
    verify: Verification = Field(default_factory=Verification)
    changed_lines: int = Field(default=200, ge=0, le=100_000, description="changed lines listed per variant")
    variants: list[Variant] = Field(default_factory=list, max_length=1000)
    sweeps: list[Sweep] = Field(default_factory=list, max_length=100)

    @property
    def ruleset_id(self) -> str:
        return self.ruleset.partition("@")[0]

    @property
    def pinned_revision(self) -> str | None:
        return self.ruleset.partition("@")[2] or None

    @model_validator(mode="after")
    def _names(self) -> Scenario:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names) or "baseline" in names:
            raise ValueError("variant names must be unique and not 'baseline'")
        sweeps = [s.name for s in self.sweeps]
        if len(set(sweeps)) != len(sweeps):
            raise ValueError("sweep names must be unique")
        for s in self.sweeps:
            if s.on is not None and s.on not in names:
                raise ValueError(f"sweep {s.name} starts from an unknown variant {s.on!r}")
            if s.count() > MAX_POINTS:
                raise ValueError(f"sweep {s.name} has more than {MAX_POINTS} points")
        evaluations = self.evaluations()
        if evaluations > MAX_EVALUATIONS:
            raise ValueError(
                f"the scenario asks for {_count_text(evaluations)} evaluations (baseline, variants and sweep "
                f"points); at most {MAX_EVALUATIONS}"
            )
        return self

    def evaluations(self) -> int:
        """Baseline + variants + every sweep point, counted arithmetically."""
        return 1 + len(self.variants) + sum(s.count() for s in self.sweeps)


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file, or raise InvalidPolicy naming the file and every problem."""
    scenario = parse_model(Scenario, read_yaml(path), str(path))
    if path.stem != scenario.id:
        raise InvalidPolicy(
            [Problem(("id",), f"scenario id {scenario.id!r} must match the file name {path.stem!r}", source=str(path))]
        )
    return scenario


def schema_text() -> str:
    """The JSON Schema of scenario files (written to ``schemas/scenario.schema.json``)."""
    import json

    schema: dict[str, Any] = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
