"""DAG params whose JSON schema names draft 7, whose bounds are refused rather than clamped, and
whose description states the range and the format the schema enforces.

Draft 7: Airflow validates a param each time it reads its value (each task reads the DAG's params
some sixty times: serializing the DAG, building the template context), and jsonschema first checks
the schema itself against its metaschema. A schema that names no draft is checked against
draft 2020-12's, eight vocabularies joined by references; draft 7's single metaschema is
checked in well under half the time (0.29 against 0.75 ms a param on the development machine).
The keywords the params use (type, enum, format, pattern, minimum, maximum, allOf) mean the same
in both drafts.

Bounds: Airflow 3.3's trigger form gives a number param whose schema has a top-level
``minimum``/``maximum`` a number input with those bounds, which on leaving the field sets a value
out of range to the nearest bound without a word (-5 became 1, 99,999,999 became 2,000,000;
airflow/ui's FieldNumber, whose NumberInput clamps on blur). Under ``allOf`` the bounds mean the
same to every validator, but the form passes none to its input: the value typed is sent, and
Airflow refuses the run with "Invalid input for param orders: -5 is less than the minimum of 1",
as the REST API and the CLI do.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param

DRAFT_7 = "http://json-schema.org/draft-07/schema#"
#: What the trigger form's date picker and the REST API each take for a ``format: date`` param.
DATE_FORMAT_NOTE = ("In the trigger form: its date picker, in the browser's date format (mm/dd/yyyy in an "
                    "en-US browser). In the form's JSON and the REST API (conf): YYYY-MM-DD.")


def param(default: Any, *, description: str, minimum: float | None = None, maximum: float | None = None,
          **schema: Any) -> Param:
    """A :class:`Param` with ``default`` and the JSON schema keywords ``schema``, in draft 7.

    ``minimum`` and ``maximum`` go under ``allOf`` (refused, not clamped, by the trigger form);
    the description gets the range and the format the schema holds (``describe``)."""
    schema = {"$schema": DRAFT_7, **schema}
    bounds = {key: value for key, value in (("minimum", minimum), ("maximum", maximum)) if value is not None}
    if bounds:
        schema["allOf"] = [bounds]
    stated = describe(schema)
    return Param(default, description=f"{description}. {stated}" if stated else description, **schema)


def bounds(schema: dict[str, Any]) -> tuple[float | None, float | None]:
    """The (minimum, maximum) of ``schema``, at its top level or under ``allOf``."""
    found = {key: schema.get(key) for key in ("minimum", "maximum")}
    for part in schema.get("allOf", []):
        found.update({key: part[key] for key in found if key in part})
    return found["minimum"], found["maximum"]


def _number(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def describe(schema: dict[str, Any]) -> str:
    """The range and format ``schema`` enforces, in words, for the param's description."""
    types = schema.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    low, high = bounds(schema)
    words = []
    if low is not None or high is not None:
        kind = "a whole number" if "integer" in types else "a number"
        if low is not None and high is not None:
            words.append(f"{kind.capitalize()} from {_number(low)} to {_number(high)}")
        elif low is not None:
            words.append(f"{kind.capitalize()} of at least {_number(low)}")
        else:
            words.append(f"{kind.capitalize()} of at most {_number(high)}")
        words[-1] += "; a value outside is refused when the run is triggered, with a message naming it."
    if schema.get("format") == "date":
        words.append(DATE_FORMAT_NOTE)
    if "enum" in schema:
        words.append("One of: " + ", ".join(str(value) for value in schema["enum"]) + ".")
    return " ".join(words)
