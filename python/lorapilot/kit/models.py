"""Base classes for pydantic models at the edges (TOML files, request bodies).

Named ``StrictModel`` so that "base model" is free to mean a checkpoint one trains on.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A model that refuses unknown fields, so a typo in a file or request is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid")


class FrozenModel(StrictModel):
    """A :class:`StrictModel` whose instances never change (specs shared between threads)."""

    model_config = ConfigDict(frozen=True)


class CheckedModel(StrictModel):
    """A :class:`StrictModel` that validates every assignment too (objects edited field by field)."""

    model_config = ConfigDict(validate_assignment=True)
