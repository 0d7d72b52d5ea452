"""Bad policy and ruleset files: every problem names the file, the path inside it and what is wrong.

Each test copies the shipped ruleset ``wuding-county`` and the policies it binds into a temporary tree
(other rulesets of the repository are left out, so that work in progress elsewhere cannot disturb
these tests), breaks one thing, and checks both the library (``Catalog.load(tmp).compile(...)``
raises InvalidPolicy) and the command line (``budget-rules validate TMP`` exits 2 and prints the
problems on stderr, one a line, with no traceback).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from service.domain.errors import InvalidPolicy, Problem
from service.policyfiles import Catalog

REPO = Path(__file__).resolve().parents[1]
RULESET = "wuding-county"
BIN = Path(sys.executable).parent / "budget-rules"
CLI = [str(BIN)] if BIN.exists() else [sys.executable, "-c", "from service.cli import main; main()"]


def bound_policies() -> list[str]:
    data = yaml.safe_load((REPO / "rulesets" / f"{RULESET}.yaml").read_text(encoding="utf-8"))
    return [b["policy"] for b in data["policies"]]


def binding_index(policy: str) -> int:
    return bound_policies().index(policy)


def copy_tree(dest: Path) -> Path:
    (dest / "policies").mkdir(parents=True)
    (dest / "rulesets").mkdir()
    shutil.copy(REPO / "rulesets" / f"{RULESET}.yaml", dest / "rulesets")
    for policy in bound_policies():
        shutil.copy(REPO / "policies" / f"{policy}.yaml", dest / "policies")
    return dest


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return copy_tree(tmp_path / "tree")


def policy_file(root: Path, policy: str) -> Path:
    return root / "policies" / f"{policy}.yaml"


def ruleset_file(root: Path) -> Path:
    return root / "rulesets" / f"{RULESET}.yaml"


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"{old!r} is not in {path.name}: the shipped file changed; update this test"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    """1-based number of the first line holding ``needle``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def problems_of(root: Path) -> list[Problem]:
    with pytest.raises(InvalidPolicy) as caught:
        Catalog.load(root).compile(RULESET)
    assert caught.value.problems, "InvalidPolicy without problems"
    return caught.value.problems


def run_validate(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "validate", *map(str, args)], capture_output=True, text=True, timeout=120, encoding="utf-8"
    )


# --------------------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Breakage:
    name: str
    file: str  # e.g. "policies/cut-inefficient.yaml"
    path: str  # the dotted path inside the file the problem must name ("" for a whole-file problem)
    words: tuple[str, ...]  # words the message must contain
    apply: Callable[[Path], None]


def _yaml_syntax(root: Path) -> None:
    path = policy_file(root, "cut-inefficient")
    replace(path, "\nid: cut-inefficient\n", "\nid: cut-inefficient\nsummary: zh: a colon where none may be\n")


def _unknown_key(root: Path) -> None:
    replace(policy_file(root, "cut-inefficient"), "\napplies_to:", "\ncolour: red\napplies_to:")


def _unknown_condition_field(root: Path) -> None:
    replace(
        policy_file(root, "target-review-gate"),
        "{field: target_review_score, op: lt, param: min_score}",
        "{field: target_reviw_score, op: lt, param: min_score}",
    )


def _parameter_out_of_range(root: Path) -> None:
    replace(ruleset_file(root), "min_score: 65", "min_score: 120")


def _unknown_parameter(root: Path) -> None:
    replace(ruleset_file(root), "cancel_below: 60", "cancel_below: 60, cancel_above: 3")


def _bad_placeholder(root: Path) -> None:
    replace(policy_file(root, "urge-improvement"), "绩效一般，督促部门改进", "绩效一般{colour}，督促部门改进")


def _missing_en(root: Path) -> None:
    path = policy_file(root, "urge-improvement")
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip() == "explain:")
    en = next(i for i in range(start, len(lines)) if lines[i].lstrip().startswith("en:"))
    path.write_text("".join(lines[:en] + lines[en + 1 :]), encoding="utf-8")


def _duplicate_precedence(root: Path) -> None:
    replace(ruleset_file(root), "precedence: 3}", "precedence: 2}")


def _id_mismatch(root: Path) -> None:
    replace(policy_file(root, "reclaim-idle"), "\nid: reclaim-idle\n", "\nid: reclaim-idle-funds\n")


BOMB = """
lol1: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
lol2: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
lol3: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
lol4: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
lol5: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
lol6: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
lol7: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
lol8: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
lol9: [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def _alias_bomb(root: Path) -> None:
    path = policy_file(root, "urge-improvement")
    path.write_text(path.read_text(encoding="utf-8") + BOMB, encoding="utf-8")


def _unknown_citation_source(root: Path) -> None:
    replace(policy_file(root, "three-public-no-increase"), "source: GWR2014", "source: GWR2099")


def _not_utf8(root: Path) -> None:
    path = policy_file(root, "urge-improvement")
    path.write_bytes(path.read_text(encoding="utf-8").encode("gbk"))


def _missing_policy_file(root: Path) -> None:
    policy_file(root, "urge-improvement").unlink()


def _fractional_integer(root: Path) -> None:
    replace(ruleset_file(root), "min_years: 2", "min_years: 2.5")


def _unknown_choice(root: Path) -> None:
    replace(ruleset_file(root), "missing: exclude", "missing: ignore")


def _unknown_operator(root: Path) -> None:
    replace(policy_file(root, "target-review-gate"), "op: lt, param: min_score", "op: below, param: min_score")


def _text_for_a_number(root: Path) -> None:
    replace(
        policy_file(root, "reclaim-idle"),
        "{field: idle_balance, op: gt, value: 0}",
        "{field: idle_balance, op: gt, value: zero}",
    )


def _ruleset_unknown_key(root: Path) -> None:
    replace(ruleset_file(root), "\neffective:", "\nowner: finance bureau\neffective:")


def _duplicate_rule_id(root: Path) -> None:
    replace(policy_file(root, "prioritize-good"), "id: grade-good", "id: grade-excellent")


BREAKAGES = [
    Breakage("yaml syntax error", "policies/cut-inefficient.yaml", "", ("invalid YAML", "line "), _yaml_syntax),
    Breakage("unknown key in a policy", "policies/cut-inefficient.yaml", "colour", ("unknown",), _unknown_key),
    Breakage(
        "unknown field in a condition",
        "policies/target-review-gate.yaml",
        "rules.0.when.field",
        ("unknown field", "target_reviw_score"),
        _unknown_condition_field,
    ),
    Breakage(
        "parameter out of range",
        f"rulesets/{RULESET}.yaml",
        f"policies.{binding_index('target-review-gate')}.params.min_score",
        ("120", "100"),
        _parameter_out_of_range,
    ),
    Breakage(
        "unknown parameter in a binding",
        f"rulesets/{RULESET}.yaml",
        f"policies.{binding_index('cancel-ineffective')}.params.cancel_above",
        ("unknown parameter", "cancel_below"),
        _unknown_parameter,
    ),
    Breakage(
        "placeholder that does not exist",
        "policies/urge-improvement.yaml",
        "rules.0.explain.zh",
        ("{colour}",),
        _bad_placeholder,
    ),
    Breakage("missing en text", "policies/urge-improvement.yaml", "rules.0.explain.en", ("required",), _missing_en),
    Breakage(
        "duplicate precedence",
        f"rulesets/{RULESET}.yaml",
        f"policies.{binding_index('three-public-no-increase')}.precedence",
        ("precedence 2", "cancel-ineffective"),
        _duplicate_precedence,
    ),
    Breakage(
        "policy id differs from the file name",
        "policies/reclaim-idle.yaml",
        "id",
        ("reclaim-idle-funds", "file name"),
        _id_mismatch,
    ),
    Breakage("alias bomb", "policies/urge-improvement.yaml", "", ("alias", "line "), _alias_bomb),
    Breakage(
        "citation source not in the ruleset",
        "policies/three-public-no-increase.yaml",
        "citations.0.source",
        ("GWR2099", "source"),
        _unknown_citation_source,
    ),
    Breakage("not UTF-8", "policies/urge-improvement.yaml", "", ("UTF-8",), _not_utf8),
    Breakage(
        "bound policy without a file",
        f"rulesets/{RULESET}.yaml",
        f"policies.{binding_index('urge-improvement')}.policy",
        ("urge-improvement",),
        _missing_policy_file,
    ),
    Breakage(
        "fractional integer parameter",
        f"rulesets/{RULESET}.yaml",
        f"policies.{binding_index('reclaim-idle')}.params.min_years",
        ("whole number", "2.5"),
        _fractional_integer,
    ),
    Breakage(
        "choice parameter outside its choices",
        f"rulesets/{RULESET}.yaml",
        f"policies.{binding_index('target-review-gate')}.params.missing",
        ("exclude", "flag", "ignore"),
        _unknown_choice,
    ),
    Breakage(
        "unknown operator",
        "policies/target-review-gate.yaml",
        "rules.0.when.op",
        ("lt",),
        _unknown_operator,
    ),
    Breakage(
        "text compared with money",
        "policies/reclaim-idle.yaml",
        "rules.0.when.all.0.value",
        ("number", "zero"),
        _text_for_a_number,
    ),
    Breakage("unknown key in the ruleset", f"rulesets/{RULESET}.yaml", "owner", ("unknown",), _ruleset_unknown_key),
    Breakage(
        "duplicate rule ids", "policies/prioritize-good.yaml", "", ("duplicate", "grade-excellent"), _duplicate_rule_id
    ),
]


def _matching(problems: list[str], case: Breakage) -> list[str]:
    file_name = Path(case.file).name
    return [
        text
        for text in problems
        if file_name in text
        and (not case.path or f": {case.path}: " in text)
        and all(word in text for word in case.words)
    ]


def test_the_copied_tree_is_valid(tree: Path) -> None:
    compiled = Catalog.load(tree).compile(RULESET)
    assert [p.id for p in compiled.policies] == sorted(bound_policies(), key=bound_policies().index)


@pytest.mark.parametrize("case", BREAKAGES, ids=[c.name for c in BREAKAGES])
def test_a_broken_file_is_named_precisely(tree: Path, case: Breakage) -> None:
    case.apply(tree)
    problems = problems_of(tree)
    texts = [str(p) for p in problems]
    assert _matching(texts, case), f"{case.name}: no problem names {case.file} {case.path!r} {case.words}: {texts}"
    for p in problems:
        assert p.source, f"{p} does not name its file"
        assert p.message.strip()


@pytest.mark.parametrize("case", BREAKAGES, ids=[c.name for c in BREAKAGES])
def test_validate_reports_a_broken_file(tree: Path, case: Breakage) -> None:
    case.apply(tree)
    done = run_validate(tree)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert _matching(lines, case), f"{case.name}: {lines}"


def test_a_yaml_syntax_error_gives_line_and_column(tree: Path) -> None:
    _yaml_syntax(tree)
    path = policy_file(tree, "cut-inefficient")
    line = line_of(path, "summary: zh:")
    column = len("summary: zh") + 1  # the second ':' is where a mapping value is not allowed
    (problem,) = problems_of(tree)
    assert problem.source == str(path)
    assert f"line {line}, column {column}" in problem.message, problem.message


def test_an_alias_is_refused_at_its_place(tree: Path) -> None:
    _alias_bomb(tree)
    path = policy_file(tree, "urge-improvement")
    line = line_of(path, "lol2: &b [*a")
    (problem,) = problems_of(tree)
    assert f"line {line}, column " in problem.message and "alias" in problem.message, problem.message


def test_an_anchor_alone_is_not_a_back_door(tree: Path) -> None:
    """An alias used for a real value (not a bomb) is refused just the same."""
    path = policy_file(tree, "cut-inefficient")
    replace(path, "  cut_below:\n", "  cut_below: &below\n")
    path.write_text(path.read_text(encoding="utf-8") + "copied: *below\n", encoding="utf-8")
    problems = problems_of(tree)
    assert any("alias" in p.message for p in problems), [str(p) for p in problems]


def test_every_file_that_fails_to_load_is_reported_at_once(tree: Path) -> None:
    _unknown_key(tree)
    _id_mismatch(tree)
    _alias_bomb(tree)
    names = ("cut-inefficient.yaml", "reclaim-idle.yaml", "urge-improvement.yaml")
    texts = [str(p) for p in problems_of(tree)]
    for name in names:
        assert any(name in t for t in texts), (name, texts)
    done = run_validate(tree)
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    for name in names:
        assert name in done.stderr, (name, done.stderr)


def test_every_compile_problem_is_reported_at_once(tree: Path) -> None:
    _bad_placeholder(tree)
    _unknown_citation_source(tree)
    _parameter_out_of_range(tree)
    _duplicate_precedence(tree)
    texts = [str(p) for p in problems_of(tree)]
    for case in BREAKAGES:
        if case.apply in (_bad_placeholder, _unknown_citation_source, _parameter_out_of_range):
            assert _matching(texts, case), (case.name, texts)
    assert any(".precedence: " in t for t in texts), texts
    done = run_validate(tree)
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    assert len([line for line in done.stderr.splitlines() if line.strip()]) == len(texts)


def test_load_and_compile_problems_are_reported_together(tree: Path) -> None:
    _unknown_key(tree)  # a load problem in cut-inefficient.yaml
    _bad_placeholder(tree)  # a compile problem in urge-improvement.yaml
    texts = [str(p) for p in problems_of(tree)]
    assert any("cut-inefficient.yaml" in t for t in texts), texts
    assert any("urge-improvement.yaml" in t for t in texts), texts


def test_validate_one_broken_policy_file(tree: Path) -> None:
    _unknown_condition_field(tree)
    path = policy_file(tree, "target-review-gate")
    done = run_validate(path)
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    assert "target-review-gate.yaml" in done.stderr and "rules.0.when.field" in done.stderr


def test_validate_one_ruleset_file(tree: Path) -> None:
    done = run_validate(ruleset_file(tree))
    assert done.returncode == 0, done.stderr
    _parameter_out_of_range(tree)
    done = run_validate(ruleset_file(tree))
    assert done.returncode == 2 and "min_score" in done.stderr and "Traceback" not in done.stderr


def test_validate_the_copied_tree(tree: Path) -> None:
    done = run_validate(tree)
    assert done.returncode == 0, done.stderr
    assert RULESET in done.stdout


def test_validate_the_repository() -> None:
    done = run_validate()
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert re.search(rf"^{RULESET}: \d+ policies", done.stdout, re.MULTILINE), done.stdout
    explicit = run_validate(REPO)
    assert explicit.returncode == 0, explicit.stderr


def test_validate_a_missing_folder(tmp_path: Path) -> None:
    done = run_validate(tmp_path / "nowhere")
    assert "Traceback" not in done.stderr
    assert done.returncode == 2, (done.returncode, done.stdout)
    assert "nowhere" in done.stderr


def test_a_duplicate_key_is_refused(tree: Path) -> None:
    path = policy_file(tree, "target-review-gate")
    replace(
        path,
        "    when: {field: target_review_score, op: lt, param: min_score}\n",
        "    when: {field: target_review_score, op: lt, param: min_score}\n"
        "    when: {field: target_review_score, op: lt, value: 0}\n",
    )
    problems = problems_of(tree)
    assert any("when" in str(p) and "target-review-gate.yaml" in str(p) for p in problems)
