"""The evaluations a scenario asks for: the baseline, each variant, each sweep point."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from service.simulation.scenario import EnvelopeChange, Scenario, Sweep, Transform, Variant


@dataclass(frozen=True, slots=True)
class Job:
    """One evaluation of the whole dataset under one set of changes to the baseline."""

    key: str  # "baseline", "variant/<name>" or "sweep/<name>/<k>"
    kind: str  # baseline | variant | sweep
    name: str
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    disabled: tuple[str, ...] = ()
    envelope: EnvelopeChange | None = None
    transforms: tuple[Transform, ...] = ()
    point: dict[str, str] = field(default_factory=dict)  # sweep axis → value (as text)


def _param_value(value: Decimal | str) -> Any:
    """A swept value as a parameter value: whole numbers as int (integer parameters need them)."""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def _text(value: Decimal | str) -> str:
    return f"{value.normalize():f}" if isinstance(value, Decimal) else value


def variant_job(variant: Variant) -> Job:
    return Job(
        key=f"variant/{variant.name}",
        kind="variant",
        name=variant.name,
        params={p: dict(v) for p, v in variant.params.items()},
        disabled=tuple(variant.disable),
        envelope=variant.envelope,
        transforms=tuple(variant.transforms),
    )


def sweep_jobs(sweep: Sweep, start: Job) -> list[Job]:
    jobs = []
    for k, values in enumerate(sweep.points()):
        params = {p: dict(v) for p, v in start.params.items()}
        envelope = start.envelope
        point = {}
        for axis, value in zip(sweep.axes, values, strict=True):
            point[axis.parameter] = _text(value)
            target, name = axis.parameter.split(".", 1)
            if target == "envelope":
                envelope = EnvelopeChange.model_validate({name: value})
            else:
                params.setdefault(target, {})[name] = _param_value(value)
        jobs.append(
            Job(
                key=f"sweep/{sweep.name}/{k}",
                kind="sweep",
                name=sweep.name,
                params=params,
                disabled=start.disabled,
                envelope=envelope,
                transforms=start.transforms,
                point=point,
            )
        )
    return jobs


def expand(scenario: Scenario) -> list[Job]:
    """Every evaluation of the scenario, baseline first, in file order."""
    baseline = Job(key="baseline", kind="baseline", name="baseline")
    variants = {v.name: variant_job(v) for v in scenario.variants}
    jobs = [baseline, *variants.values()]
    for sweep in scenario.sweeps:
        jobs += sweep_jobs(sweep, variants[sweep.on] if sweep.on else baseline)
    return jobs
