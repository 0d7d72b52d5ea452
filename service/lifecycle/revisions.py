"""A ruleset revision: the ruleset file and every policy it binds, checked, canonical and content-addressed.

The revision id is the first 12 hex digits of :func:`ruleset_digest` over the canonical form of the
ruleset and its policies, so the same content always has the same id, and stored content that no
longer hashes to its id is refused (:class:`CorruptRevision`).
"""

from __future__ import annotations

import dataclasses
import json
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.domain.checks import check_ruleset
from service.domain.errors import BudgetRulesError, InvalidPolicy, Problem
from service.domain.policy import Policy
from service.domain.ruleset import CompiledRuleset, RulesetFile, canonical_json, compile_ruleset, ruleset_digest
from service.engine.durable import limit_problems
from service.policyfiles import Catalog

FILE_NAME = re.compile(r"^(policies|rulesets)/[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.ya?ml$")
MAX_FILES = 200


class CorruptRevision(BudgetRulesError):
    """Stored revision content no longer hashes to its digest (edited in the database)."""

    code = "corrupt_revision"


@dataclass(frozen=True)
class RevisionContent:
    """The ruleset file and the policies it binds, exactly as stored."""

    ruleset: RulesetFile
    policies: Mapping[str, Policy]
    digest: str

    @property
    def revision(self) -> str:
        return self.digest.removeprefix("sha256:")[:12]

    def ruleset_json(self) -> str:
        return canonical_json(self.ruleset.model_dump(mode="json", by_alias=True))

    def policies_json(self) -> str:
        return canonical_json({pid: p.model_dump(mode="json", by_alias=True) for pid, p in self.policies.items()})

    def write_tree(self, root: Path) -> Path:
        """The revision as a source tree (rulesets/ and policies/; JSON is YAML), e.g. for a simulation."""
        (root / "rulesets").mkdir(parents=True, exist_ok=True)
        (root / "policies").mkdir(parents=True, exist_ok=True)
        (root / "rulesets" / f"{self.ruleset.id}.yaml").write_text(self.ruleset_json(), encoding="utf-8")
        for pid, policy in self.policies.items():
            text = canonical_json(policy.model_dump(mode="json", by_alias=True))
            (root / "policies" / f"{pid}.yaml").write_text(text, encoding="utf-8")
        return root

    @classmethod
    def of(cls, ruleset: RulesetFile, policies: Mapping[str, Policy]) -> RevisionContent:
        bound = {b.policy: policies[b.policy] for b in ruleset.policies if b.policy in policies}
        return cls(ruleset, bound, ruleset_digest(ruleset, bound))

    @classmethod
    def from_json(cls, ruleset_json: str, policies_json: str, expected_digest: str) -> RevisionContent:
        ruleset = RulesetFile.model_validate(json.loads(ruleset_json))
        policies = {pid: Policy.model_validate(p) for pid, p in json.loads(policies_json).items()}
        content = cls.of(ruleset, policies)
        if content.digest != expected_digest:
            raise CorruptRevision(
                f"stored revision {ruleset.id}@{expected_digest.removeprefix('sha256:')[:12]} hashes to "
                f"{content.digest}: its content was altered"
            )
        return content

    def compile(self) -> CompiledRuleset:
        where = f"{self.ruleset.id}@{self.revision}"
        return compile_ruleset(
            self.ruleset,
            self.policies,
            ruleset_source=f"rulesets/{self.ruleset.id}.yaml ({where})",
            policy_sources={pid: f"policies/{pid}.yaml ({where})" for pid in self.policies},
            digest=self.digest,
        )


@dataclass(frozen=True)
class CheckedRevision:
    content: RevisionContent
    compiled: CompiledRuleset
    warnings: list[Problem]


def check_catalog(catalog: Catalog, load_problems: list[Problem], ruleset_id: str) -> CheckedRevision:
    """The checks of ``budget-rules validate`` for one ruleset: errors raise InvalidPolicy, warnings return."""
    errors = list(load_problems)
    compiled = None
    if ruleset_id not in catalog.rulesets:
        if not errors:
            errors.append(Problem((), f"no ruleset {ruleset_id!r}", source=f"rulesets/{ruleset_id}.yaml"))
    else:
        try:
            compiled = catalog.compile(ruleset_id)
        except InvalidPolicy as error:
            errors += error.problems
    source = catalog.ruleset_paths.get(ruleset_id, ruleset_id)
    if compiled is not None:
        errors += limit_problems(compiled, source)
    if errors or compiled is None:
        raise InvalidPolicy(errors)
    content = RevisionContent.of(catalog.rulesets[ruleset_id], catalog.policies)
    stored = RevisionContent.from_json(content.ruleset_json(), content.policies_json(), content.digest)
    assert stored.digest == compiled.digest  # canonical storage round-trips exactly
    warnings = [f.problem for f in check_ruleset(compiled, source)]
    return CheckedRevision(content, compiled, warnings)


def check_files(files: Mapping[str, Any], ruleset_id: str) -> CheckedRevision:
    """Check uploaded files ``{"rulesets/<id>.yaml": text, "policies/<id>.yaml": text, …}``.

    Every problem names the uploaded file (never the server's temporary folder) and the path inside it.
    """
    problems = _file_name_problems(files, ruleset_id)
    if problems:
        raise InvalidPolicy(problems)
    with tempfile.TemporaryDirectory(prefix="budget-rules-revision-") as folder:
        root = Path(folder)
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
        (root / "policies").mkdir(exist_ok=True)
        try:
            catalog, load_problems = Catalog.load_all(root)
            checked = check_catalog(catalog, load_problems, ruleset_id)
        except InvalidPolicy as error:
            raise InvalidPolicy([_relative(p, root) for p in error.problems]) from None
    return dataclasses.replace(checked, warnings=[_relative(p, root) for p in checked.warnings])


def read_folder(root: Path, ruleset_id: str) -> dict[str, str]:
    """The files ``propose DIR`` uploads: ``rulesets/<id>.yaml`` and every file under ``policies/``."""
    files = {}
    for path in sorted((root / "policies").glob("*.y*ml")):
        files[f"policies/{path.name}"] = path.read_text(encoding="utf-8")
    for suffix in (".yaml", ".yml"):
        path = root / "rulesets" / f"{ruleset_id}{suffix}"
        if path.is_file():
            files[f"rulesets/{path.name}"] = path.read_text(encoding="utf-8")
    return files


def _file_name_problems(files: Mapping[str, Any], ruleset_id: str) -> list[Problem]:
    problems = []
    if len(files) > MAX_FILES:
        problems.append(Problem(("files",), f"at most {MAX_FILES} files"))
    for name, text in files.items():
        if not FILE_NAME.match(name):
            problems.append(
                Problem(("files", name), "a file is named policies/<id>.yaml or rulesets/<id>.yaml", source=name)
            )
        elif not isinstance(text, str):
            problems.append(Problem(("files", name), "the file content must be a string", source=name))
    if not any(n in files for n in (f"rulesets/{ruleset_id}.yaml", f"rulesets/{ruleset_id}.yml")):
        problems.append(Problem(("files",), f"rulesets/{ruleset_id}.yaml is missing"))
    elif sum(1 for n in files if n.startswith("rulesets/")) > 1:
        problems.append(Problem(("files",), f"upload one ruleset file (rulesets/{ruleset_id}.yaml)"))
    return problems


def _relative(problem: Problem, root: Path) -> Problem:
    if not problem.source:
        return problem
    return dataclasses.replace(problem, source=problem.source.replace(f"{root}/", "").replace(str(root), "."))
