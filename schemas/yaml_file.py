"""A typed YAML file (the registry, the policy): read, parsed and validated, or one readable line.

>>> registry = load_yaml_model(Path("schemas/yangxi.yaml"), Registry, "registry", RegistryError)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)


def load_yaml_model(path: Path, model: type[ModelT], what: str, error: type[ValueError]) -> ModelT:
    """`model` from the YAML at `path`; `error` with one line naming `what`, the file and the field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise error(f"{what} {path} is not valid YAML: {first_line(str(exc))}") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top)"
        raise error(f"{what} {path} is invalid at {where}: {first['msg']}") from None


def first_line(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().splitlines()[0] if text.strip() else text)
