"""Compiling the rulesets a scenario names: only the ruleset file and the policies it binds are read.

A scenario depends on one ruleset; reading just its files means an unrelated policy being edited
(or broken) elsewhere in ``policies/`` does not stop a simulation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from service.domain.errors import UnknownRuleset
from service.domain.ruleset import CompiledRuleset
from service.policyfiles import Catalog, default_root, load_policy, load_ruleset_file


def ruleset_catalog(ruleset_id: str, root: Path | None = None) -> Catalog:
    """A catalog holding one ruleset and the policies it binds."""
    root = root or default_root()
    path = root / "rulesets" / f"{ruleset_id}.yaml"
    if not path.is_file():
        raise UnknownRuleset(f"no ruleset {ruleset_id!r} (expected {path})")
    ruleset = load_ruleset_file(path)
    catalog = Catalog(rulesets={ruleset.id: ruleset}, ruleset_paths={ruleset.id: str(path)})
    for binding in ruleset.policies:
        policy_path = root / "policies" / f"{binding.policy}.yaml"
        if policy_path.is_file():
            catalog.policies[binding.policy] = load_policy(policy_path)
            catalog.policy_paths[binding.policy] = str(policy_path)
    return catalog


def compile_variant(
    catalog: Catalog,
    ruleset_id: str,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    disabled: Sequence[str] = (),
) -> CompiledRuleset:
    """The ruleset with some parameters replaced and some policies switched off (:meth:`Catalog.compile`)."""
    return catalog.compile(ruleset_id, overrides, disabled)
