"""JSON Schemas of the policy and ruleset file formats, generated from the pydantic models.

The generated files live in ``schemas/`` so that editors (via the ``yaml-language-server`` comment at
the top of each file) complete and check policy files while they are written. A test keeps the
committed files equal to what the models generate.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from service.domain.policy import Policy
from service.domain.ruleset import RulesetFile
from service.simulation.scenario import Scenario

SCHEMAS: dict[str, type[BaseModel]] = {
    "policy.schema.json": Policy,
    "ruleset.schema.json": RulesetFile,
    "scenario.schema.json": Scenario,
}


def schema_text(model: type[BaseModel]) -> str:
    schema: dict[str, Any] = model.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in SCHEMAS.items():
        path = folder / name
        path.write_text(schema_text(model), encoding="utf-8")
        written.append(path)
    return written
