"""Running the examples that policy files carry, and reporting which rules they exercised.

Each example runs its policy (with its default parameters, overridden by the example's) together
with the policies it names as running before or after it, through a real engine. The report says,
for every rule of every policy, how many example lines it fired on, did not fire on, and was
superseded on, so a maintainer sees which branches are untested.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from service.domain.decision import evaluate, result_document
from service.domain.disclosure import parse_disclosure_request, review_disclosure
from service.domain.errors import InvalidInput, InvalidPolicy
from service.domain.policy import Bilingual, Example, ExpectedLine, Policy
from service.domain.records import parse_request
from service.domain.ruleset import Effective, PolicyBinding, RulesetFile, compile_ruleset
from service.engine import make_matcher
from service.policyfiles import Catalog

DEFAULT_DEPARTMENT = {"department_id": "D1", "name": "示例部门"}


@dataclass(frozen=True)
class ExampleFailure:
    policy: str
    example: str
    message: str

    def __str__(self) -> str:
        return f"{self.policy}: example {self.example!r}: {self.message}"


@dataclass
class CoverageReport:
    examples: int = 0
    passed: int = 0
    failures: list[ExampleFailure] = field(default_factory=list)
    # (policy id, rule id) -> Counter of "fired" / "not fired" / "superseded" / "waived"
    rules: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)


def example_ruleset(catalog: Catalog, policy: Policy, example: Example) -> RulesetFile:
    sources: dict[str, Bilingual] = {}
    for ruleset in catalog.rulesets.values():
        sources.update(ruleset.sources)
    order = [*example.before, policy.id, *example.after]
    bindings = [
        PolicyBinding(policy=pid, precedence=i + 1, params=example.params if pid == policy.id else {})
        for i, pid in enumerate(order)
    ]
    return RulesetFile(
        id=f"example-{policy.id}",
        title=Bilingual(zh=f"示例：{policy.title.zh}", en=f"Example: {policy.title.en}"),
        subject=policy.subject,
        effective=Effective(from_year=2000),
        sources=sources,
        policies=bindings,
    )


def compile_alone(catalog: Catalog, policy: Policy, source: str) -> None:
    """Compile one policy on its own with its default parameters (raises InvalidPolicy on problems).

    Citation sources come from the rulesets beside the file, else from the shipped ones.
    """
    sources: dict[str, Bilingual] = {}
    for ruleset in (catalog.rulesets or Catalog.load().rulesets).values():
        sources.update(ruleset.sources)
    ruleset = RulesetFile(
        id=f"alone-{policy.id}",
        title=Bilingual(zh=policy.title.zh, en=policy.title.en),
        subject=policy.subject,
        effective=Effective(from_year=2000),
        sources=sources,
        policies=[PolicyBinding(policy=policy.id, precedence=1)],
    )
    compile_ruleset(ruleset, {**catalog.policies, policy.id: policy}, policy_sources={policy.id: source})


def example_request(example: Example) -> dict[str, Any]:
    departments = example.departments or [DEFAULT_DEPARTMENT]
    first = departments[0]["department_id"]
    projects = [{"department_id": first, "name": str(p.get("project_id", "line")), **p} for p in example.projects]
    return {"fiscal_year": example.fiscal_year, "departments": departments, "projects": projects}


def _check_line(
    policy_id: str,
    pid: str,
    expected: ExpectedLine,
    line: dict[str, Any],
    fired: list[str],
    superseded: list[str],
    waived: list[str] | None = None,
) -> list[str]:
    problems = []
    for name in ("status", "after_policies", "recommended", "reclaimed"):
        want = getattr(expected, name)
        if want is not None:
            got = line[name]
            same = Decimal(got) == want if isinstance(want, Decimal) else got == want
            if not same:
                problems.append(f"{pid}.{name} is {got}, expected {want}")
    if expected.tier is not None:
        want_tier = None if expected.tier == "none" else expected.tier
        if line["tier"] != want_tier:
            problems.append(f"{pid}.tier is {line['tier']}, expected {want_tier}")
    if expected.flags is not None:
        codes = sorted(f["code"] for f in line["flags"])
        if codes != sorted(expected.flags):
            problems.append(f"{pid}.flags are {codes}, expected {sorted(expected.flags)}")
    own_fired = [f.split("/", 1)[1] for f in fired if f.split("/", 1)[0] == policy_id]
    own_superseded = [f.split("/", 1)[1] for f in superseded if f.split("/", 1)[0] == policy_id]
    if expected.fired is not None and own_fired != expected.fired:
        problems.append(f"{pid}: rules fired {own_fired}, expected {expected.fired}")
    if expected.superseded is not None and own_superseded != expected.superseded:
        problems.append(f"{pid}: rules superseded {own_superseded}, expected {expected.superseded}")
    own_waived = [f.split("/", 1)[1] for f in waived or [] if f.split("/", 1)[0] == policy_id]
    if expected.waived is not None and own_waived != expected.waived:
        problems.append(f"{pid}: rules waived {own_waived}, expected {expected.waived}")
    return problems


def run_disclosure_example(
    catalog: Catalog, policy: Policy, example: Example, engine: str, report: CoverageReport
) -> None:
    """Disclosure examples: records in ``departments``, expectations by department_id."""
    raw = {"fiscal_year": example.fiscal_year, "departments": example.departments or []}
    try:
        compiled = compile_ruleset(example_ruleset(catalog, policy, example), catalog.policies)
        request = parse_disclosure_request(raw)
    except (InvalidPolicy, InvalidInput) as error:
        report.failures.append(ExampleFailure(policy.id, example.name, "; ".join(str(p) for p in error.problems)))
        return
    matcher = make_matcher(compiled, engine)  # type: ignore[arg-type]
    try:
        result = review_disclosure(request, compiled, matcher, decision_id="example")
    finally:
        getattr(matcher, "close", lambda: None)()
    problems: list[str] = []
    records = {d["department_id"]: d for d in result["departments"]}
    for record in result["departments"]:
        fired = [f"{e['policy']}/{e['rule']}" for e in record["explanations"]]
        for rule in policy.rules:
            state = "fired" if f"{policy.id}/{rule.id}" in fired else "not fired"
            report.rules.setdefault((policy.id, rule.id), Counter())[state] += 1
    for did, expected in example.expect.items():
        record = records.get(did)
        if record is None:
            problems.append(f"{did} is not among the example's records")
            continue
        fired = [f"{e['policy']}/{e['rule']}" for e in record["explanations"]]
        line = {"status": None, "tier": None, "flags": record["flags"]}
        problems += _check_line(
            policy.id, did, expected.model_copy(update={"status": None, "tier": None}), line, fired, []
        )
    if problems:
        report.failures.append(ExampleFailure(policy.id, example.name, "; ".join(problems)))
    else:
        report.passed += 1


def run_example(catalog: Catalog, policy: Policy, example: Example, engine: str, report: CoverageReport) -> None:
    report.examples += 1
    if policy.subject == "department_disclosure":
        run_disclosure_example(catalog, policy, example, engine, report)
        return
    try:
        compiled = compile_ruleset(example_ruleset(catalog, policy, example), catalog.policies)
        request = parse_request(example_request(example))
    except (InvalidPolicy, InvalidInput) as error:
        report.failures.append(ExampleFailure(policy.id, example.name, "; ".join(str(p) for p in error.problems)))
        return
    matcher = make_matcher(compiled, engine)  # type: ignore[arg-type]
    try:
        evaluation = evaluate(request, compiled, matcher)
    finally:
        getattr(matcher, "close", lambda: None)()
    result = result_document(evaluation, decision_id="example")
    lines = {line["project_id"]: line for line in result["lines"]}
    problems: list[str] = []
    for outcome in evaluation.outcomes:
        for rule in policy.rules:
            key = f"{policy.id}/{rule.id}"
            state = (
                "fired"
                if key in outcome.fired
                else "superseded"
                if key in outcome.superseded
                else "waived"
                if key in outcome.waived
                else "not fired"
            )
            report.rules.setdefault((policy.id, rule.id), Counter())[state] += 1
    outcomes = {o.project.project_id: o for o in evaluation.outcomes}
    for pid, expected in example.expect.items():
        if pid not in lines:
            problems.append(f"{pid} is not among the example's projects")
            continue
        o = outcomes[pid]
        problems += _check_line(policy.id, pid, expected, lines[pid], o.fired, o.superseded, o.waived)
    if problems:
        report.failures.append(ExampleFailure(policy.id, example.name, "; ".join(problems)))
    else:
        report.passed += 1


def run_policy_examples(catalog: Catalog, engine: str = "durable-rules") -> CoverageReport:
    report = CoverageReport()
    for policy in sorted(catalog.policies.values(), key=lambda p: p.id):
        for rule in policy.rules:
            report.rules.setdefault((policy.id, rule.id), Counter())
        for example in policy.examples:
            run_example(catalog, policy, example, engine, report)
    return report


def render_coverage(report: CoverageReport, console: Console) -> None:
    table = Table(title="Policy examples: rules exercised", highlight=False)
    table.add_column("policy")
    table.add_column("rule")
    for name in ("fired", "not fired", "superseded", "waived"):
        table.add_column(name, justify="right")
    for (policy_id, rule_id), counts in sorted(report.rules.items()):
        cells = [str(counts[s]) if counts[s] else "[red]0[/red]" for s in ("fired", "not fired")]
        table.add_row(policy_id, rule_id, *cells, str(counts["superseded"]), str(counts["waived"]))
    console.print(table)
    console.print(f"{report.passed} of {report.examples} examples passed", highlight=False)
