"""Field types that accept exactly what their JSON Schema type accepts.

pydantic's lax mode would also take `"5"` or `true` for an integer; its strict mode
refuses `5.0`, which JSON Schema counts as an integer. A request the schema refuses must
be refused, and one it accepts must be accepted (the API contract tests hold both).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field


def _json_integer(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer (a JSON number, not a string or boolean)")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be an integer")
        return int(value)
    return value


# A JSON Schema `integer`: 3 and 3.0, never "3", 3.5 or true.
JsonInteger = Annotated[int, BeforeValidator(_json_integer)]


# PostgreSQL cannot store NUL in text or JSON: stated in the schema (so a request the
# schema accepts is stored, never a 503) and enforced by the same pattern.
NO_NUL_PATTERN = r"^[^\x00]*$"
Text = Annotated[str, Field(pattern=NO_NUL_PATTERN)]


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


# Free-form JSON metadata, whose strings no schema keyword can reach: NUL characters are
# dropped (PostgreSQL's JSON cannot hold them) instead of failing the write.
JsonMetadata = Annotated[dict[str, Any], AfterValidator(_without_nul)]
