"""Shared pydantic base for model records."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

NonNeg = Annotated[float, Field(ge=0.0)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]


class Record(BaseModel):
    """Validated, typed record: unknown fields are refused, assignments re-validated, and a
    float must be finite (``inf`` or ``nan`` in a model file is a mistake, never a value)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)
