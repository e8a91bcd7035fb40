"""Load TOML files into pydantic models with errors that name the file and field."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from lorapilot.kit.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def describe_validation_error(exc: ValidationError) -> str:
    """Render a pydantic error as ``field.path: message (got value)`` lines."""
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        got = err.get("input")
        suffix = ""
        if err["type"] not in ("missing", "extra_forbidden") and not isinstance(got, (dict, list)):
            suffix = f" (got {got!r})"
        lines.append(f"{where}: {msg}{suffix}")
    return "; ".join(lines)


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; a syntax error names the file, line and column."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, f"not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, f"not valid UTF-8: {exc}") from None
    except IsADirectoryError:
        raise ConfigError(path, "is a directory, expected a TOML file") from None


def validate_model(path: Path | None, model: type[M], data: dict[str, Any]) -> M:
    """Validate ``data`` as ``model``; errors name ``path`` and each bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(path, describe_validation_error(exc)) from None


def load_toml_model(path: Path, model: type[M]) -> M:
    """Read ``path`` and validate it as ``model``."""
    return validate_model(path, model, read_toml(path))
