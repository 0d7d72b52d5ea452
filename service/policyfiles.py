"""Reading policy and ruleset files: safe YAML, precise messages, and compiled rulesets by id.

Every problem names the file, the path inside it and what is wrong. YAML is read with a safe loader
that also refuses aliases (no "billion laughs") and files over 1 MB.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from service.domain.errors import InvalidPolicy, Problem, UnknownRuleset
from service.domain.policy import Policy
from service.domain.ruleset import CompiledRuleset, RulesetFile, compile_ruleset, ruleset_digest

MAX_FILE_BYTES = 1_000_000
# The ruleset a request that names none is decided by (CLI, API, pages).
DEFAULT_RULESET = "wuding-county"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
Model = TypeVar("Model", bound=BaseModel)


class _NoAliasLoader(yaml.SafeLoader):
    """A safe loader that refuses aliases (no "billion laughs") and keys repeated in one mapping
    (YAML would silently keep the last one, e.g. a second ``when:`` dropping the first condition)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is repeated (first at line {seen[key].line + 1})", key_node.start_mark
                )
            if isinstance(key, str | int):
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed", event.start_mark)
        return super().compose_node(parent, index)


def read_yaml(path: Path) -> Any:
    """Parse one YAML file, or raise InvalidPolicy naming the file, line and column."""
    where = str(path)
    try:
        size = path.stat().st_size
    except OSError as error:
        raise InvalidPolicy([Problem((), f"cannot read: {error.strerror}", source=where)]) from None
    if size > MAX_FILE_BYTES:
        raise InvalidPolicy([Problem((), f"file is {size} bytes; the limit is {MAX_FILE_BYTES}", source=where)])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InvalidPolicy([Problem((), f"not UTF-8 text (byte {error.start})", source=where)]) from None
    try:
        return yaml.load(text, Loader=_NoAliasLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        place = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        reason = getattr(error, "problem", None) or str(error)
        raise InvalidPolicy([Problem((), f"{place}invalid YAML: {reason}", source=where)]) from None
    except RecursionError:  # e.g. "[[[[…": the composer recurses once per level
        raise InvalidPolicy([Problem((), "invalid YAML: nested too deeply", source=where)]) from None


def parse_model(model: type[Model], data: Any, source: str) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = []
        for item in error.errors(include_url=False):
            loc = tuple(p for p in item["loc"] if not (isinstance(p, str) and p in _UNION_TAGS))
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] == "extra_forbidden":
                message = "unknown field"
            elif item["type"] == "missing":
                message = "is required"
            problems.append(Problem(loc, message, source=source))
        raise InvalidPolicy(problems) from None


# pydantic inserts union member names into error locations; they mean nothing to a maintainer.
_UNION_TAGS = {
    "all",
    "any",
    "not",
    "present",
    "missing",
    "field",
    "param",
    "line",
    "group",
    "ParamRef",
    "FieldRef",
    "ValueRef",
    "int",
    "function-after[_one_operand(), FieldTest]",
    "exclude",
    "cancel",
    "cap",
    "cut",
    "set_tier",
    "flag",
    "reclaim",
    "performance_share",
}


def load_policy(path: Path) -> Policy:
    policy = parse_model(Policy, read_yaml(path), str(path))
    if path.stem != policy.id:
        raise InvalidPolicy(
            [
                Problem(
                    ("id",),
                    f"policy id {policy.id!r} must match the file name {path.stem!r}",
                    source=str(path),
                )
            ]
        )
    return policy


def load_ruleset_file(path: Path) -> RulesetFile:
    ruleset = parse_model(RulesetFile, read_yaml(path), str(path))
    if path.stem != ruleset.id:
        raise InvalidPolicy(
            [
                Problem(
                    ("id",),
                    f"ruleset id {ruleset.id!r} must match the file name {path.stem!r}",
                    source=str(path),
                )
            ]
        )
    return ruleset


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))


@dataclass
class Catalog:
    """The policies and rulesets of a source tree (``policies/`` and ``rulesets/``)."""

    policies: dict[str, Policy] = field(default_factory=dict)
    policy_paths: dict[str, str] = field(default_factory=dict)
    rulesets: dict[str, RulesetFile] = field(default_factory=dict)
    ruleset_paths: dict[str, str] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)  # policy files that failed to load

    @classmethod
    def load(cls, root: Path | None = None) -> Catalog:
        """Load every file; fail listing the problems of all of them."""
        catalog, problems = cls.load_all(root)
        if problems:
            try:  # report what compiling the rest would say too: every problem at once
                catalog.compile_all()
            except InvalidPolicy as error:
                problems += error.problems
            raise InvalidPolicy(problems)
        return catalog

    @classmethod
    def load_all(cls, root: Path | None = None) -> tuple[Catalog, list[Problem]]:
        """Load what loads, and return the problems of the files that do not."""
        root = root or default_root()
        catalog = cls()
        problems: list[Problem] = []
        if not (root / "policies").is_dir() and not (root / "rulesets").is_dir():
            return catalog, [Problem((), "no policies/ or rulesets/ folder here", source=str(root))]
        for path in _yaml_files(root / "policies"):
            try:
                policy = load_policy(path)
            except InvalidPolicy as error:
                problems += error.problems
                catalog.broken.add(path.stem)
                continue
            if policy.id in catalog.policies:
                where = catalog.policy_paths[policy.id]
                problems.append(Problem(("id",), f"duplicate policy id (also in {where})", source=str(path)))
            catalog.policies[policy.id] = policy
            catalog.policy_paths[policy.id] = str(path)
        for path in _yaml_files(root / "rulesets"):
            try:
                ruleset = load_ruleset_file(path)
            except InvalidPolicy as error:
                problems += error.problems
                continue
            catalog.rulesets[ruleset.id] = ruleset
            catalog.ruleset_paths[ruleset.id] = str(path)
        return catalog, problems

    def compile(
        self,
        ruleset_id: str,
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
        disabled: Sequence[str] = (),
    ) -> CompiledRuleset:
        """A ruleset compiled, optionally with some parameters replaced and some policies switched off (what-if)."""
        ruleset = self.rulesets.get(ruleset_id)
        if ruleset is None:
            known = ", ".join(sorted(self.rulesets)) or "none"
            raise UnknownRuleset(f"no ruleset {ruleset_id!r} (known: {known})")
        unknown = sorted(set(disabled) - {b.policy for b in ruleset.policies})
        if unknown:
            raise UnknownRuleset(f"ruleset {ruleset_id} binds no policy {', '.join(unknown)}")
        if overrides:
            ruleset = with_parameters(ruleset, overrides)
        if disabled:
            off = {"enabled": False}
            bindings = [b.model_copy(update=off) if b.policy in disabled else b for b in ruleset.policies]
            ruleset = ruleset.model_copy(update={"policies": bindings})
        return compile_ruleset(
            ruleset,
            self.policies,
            ruleset_source=self.ruleset_paths.get(ruleset_id, ruleset_id),
            policy_sources=self.policy_paths,
            digest=ruleset_digest(ruleset, self.policies),
        )

    def compile_all(self) -> dict[str, CompiledRuleset]:
        """Compile every ruleset whose policies all loaded; fail listing every problem."""
        problems: list[Problem] = []
        out = {}
        for ruleset_id, ruleset in self.rulesets.items():
            if any(b.policy in self.broken for b in ruleset.policies):
                # Its broken policy files are reported already; compile the rest to report their problems.
                rest = [b for b in ruleset.policies if b.policy not in self.broken]
                if rest:
                    try:
                        compile_ruleset(
                            ruleset.model_copy(update={"policies": rest}),
                            self.policies,
                            ruleset_source=self.ruleset_paths.get(ruleset_id, ruleset_id),
                            policy_sources=self.policy_paths,
                        )
                    except InvalidPolicy as error:
                        problems += error.problems
                continue
            try:
                out[ruleset_id] = self.compile(ruleset_id)
            except InvalidPolicy as error:
                problems += error.problems
        if problems:
            raise InvalidPolicy(problems)
        return out


def with_parameters(ruleset: RulesetFile, overrides: Mapping[str, Mapping[str, Any]]) -> RulesetFile:
    """A copy of the ruleset with some policies' parameters replaced (what-if analysis).

    Naming a policy the ruleset does not bind is an error: silently ignoring it would make every
    variant of a what-if identical.
    """
    bound = {b.policy for b in ruleset.policies}
    unknown = sorted(set(overrides) - bound)
    if unknown:
        raise InvalidPolicy(
            [
                Problem((pid,), f"ruleset {ruleset.id} binds no policy {pid!r} (it binds {', '.join(sorted(bound))})")
                for pid in unknown
            ]
        )
    bindings = []
    for b in ruleset.policies:
        extra = overrides.get(b.policy)
        bindings.append(b.model_copy(update={"params": {**b.params, **extra}}) if extra else b)
    return ruleset.model_copy(update={"policies": bindings})


SHIPPED_ROOT = Path(__file__).resolve().parent / "shipped"  # in a wheel: the folders setup.py packs


def default_root() -> Path:
    """Where policies/ and rulesets/ are: $BUDGET_RULES_HOME, else the source tree, else the installed package."""
    home = os.environ.get("BUDGET_RULES_HOME")
    if home:
        return Path(home)
    if not (PROJECT_ROOT / "policies").is_dir() and (SHIPPED_ROOT / "policies").is_dir():
        return SHIPPED_ROOT  # installed from a wheel (pip install .): the shipped copies
    return PROJECT_ROOT


def iter_problems(error: InvalidPolicy) -> Iterable[str]:
    for p in error.problems:
        yield str(p)
