"""Fast CSV text for generated frames: column-wise conversion, then one join per line.

``DataFrame.to_csv`` spends about a microsecond per cell; converting whole columns to lists of
strings and joining rows with ``",".join`` is several times faster, which is what lets a day of
a million order lines be written in seconds. Quoting follows RFC 4180 and is applied only to
the values that need it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_NEEDS_QUOTES = (",", '"', "\n", "\r")


def _quote(value: str) -> str:
    if any(mark in value for mark in _NEEDS_QUOTES):
        return '"' + value.replace('"', '""') + '"'
    return value


def _text(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _column_text(values: pd.Series) -> list[str]:
    array = values.to_numpy()
    if array.dtype.kind in "iuf":
        # Quantities, product ids, prices and rates repeat a lot: format each distinct value
        # once (factorize hashes, it does not sort), then index.
        position, distinct = pd.factorize(array)
        if array.dtype.kind != "f" and len(distinct) > len(array) // 2:
            return list(map(str, array.tolist()))
        form = "{:.2f}" if array.dtype.kind == "f" else "{}"
        formatted = np.array([form.format(value) for value in distinct.tolist()], dtype=object)
        return formatted[position].tolist()
    if array.dtype.kind == "b":
        return ["true" if value else "false" for value in array.tolist()]
    text = array.tolist()
    # One join of the whole column both proves every value is a string (else TypeError) and
    # gives a single scan that decides whether any value needs quotes.
    try:
        blob = "\x00".join(text)
    except TypeError:
        text = [_text(value) for value in text]
        blob = "\x00".join(text)
    if any(mark in blob for mark in _NEEDS_QUOTES):
        return [_quote(value) for value in text]
    return text


def csv_text(frame: pd.DataFrame, columns: tuple[str, ...], header: bool) -> str:
    """The frame's ``columns`` as CSV lines (LF), with the header line first if asked."""
    lines = map(",".join, zip(*(_column_text(frame[name]) for name in columns)))
    body = "\n".join(lines)
    head = ",".join(columns) + "\n" if header else ""
    return head + body + ("\n" if len(frame) else "")
