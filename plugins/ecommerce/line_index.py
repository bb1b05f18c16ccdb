"""Where a raw file's lines are, found with numpy a block of bytes at a time: the lines' start
and end offsets, the lines that are not plain, the lines that hold data.

``raw_files`` imports this module when it reads a file, not when it is imported: every task
parses the DAG file, which imports the operators and through them ``raw_files``, and numpy
would be half of that parse.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

#: Bytes a plain line may not hold, and bytes that count as whitespace (``bytes.strip``).
_NOT_PLAIN = np.zeros(256, bool)
_NOT_PLAIN[[0, ord("\r"), ord('"')]] = True
_NOT_PLAIN[0x80:] = True
_WHITESPACE = np.zeros(256, bool)
_WHITESPACE[list(b" \t\n\r\x0b\x0c")] = True
#: Bytes per numpy pass (a pass holds a few arrays of this size).
SCAN_BLOCK = 1 << 22


def blocks(data, start: int) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Whole lines from ``start`` in blocks of about SCAN_BLOCK bytes: (block offset, the lines'
    start offsets, their end offsets — each at its line break, or at the end of the data)."""
    size, block = len(data), SCAN_BLOCK
    while start < size:
        stop = data.rfind(b"\n", start, min(start + block, size)) + 1 if start + block < size else size
        if stop <= start:  # a line longer than a block: up to its end
            stop = data.find(b"\n", start) + 1 or size
        ends = start + np.flatnonzero(np.frombuffer(data, np.uint8, stop - start, start) == ord("\n"))
        if stop == size and data[size - 1:size] != b"\n":
            ends = np.append(ends, size)
        starts = np.concatenate(([start], ends[:-1] + 1))
        yield start, starts, ends
        start = stop


def not_plain_blocks(data, start: int, columns: int, longest_field: int) -> Iterator[tuple[list[int], int]]:
    """Block by block from ``start``: the offsets of the block's lines that are not plain for
    ``columns`` fields — a line without exactly ``columns - 1`` commas, with a byte of
    ``_NOT_PLAIN``, or longer than ``longest_field`` (a field may be no longer; such a line may
    still be well-formed: the record-by-record path judges it) — in order, and the offset where
    the block's lines end."""
    for offset, starts, ends in blocks(data, start):
        chunk = np.frombuffer(data, np.uint8, ends[-1] - offset, offset)
        commas = np.flatnonzero(chunk == ord(","))
        per_line = np.searchsorted(commas, ends - offset) - np.searchsorted(commas, starts - offset)
        not_plain = (per_line != columns - 1) | (ends - starts > longest_field)
        bad_bytes = np.flatnonzero(_NOT_PLAIN[chunk])
        not_plain[np.searchsorted(ends - offset, bad_bytes)] = True
        yield starts[not_plain].tolist(), min(int(ends[-1]) + 1, len(data))


def data_lines(data, start: int) -> int:
    """Lines from ``start`` with more than whitespace on them."""
    lines = 0
    for _, starts, ends in blocks(data, start):
        # A line that starts with text is a data line; the few others are looked at one by one.
        first = np.frombuffer(data, np.uint8)[np.minimum(starts, len(data) - 1)]
        starts_blank = (starts == ends) | _WHITESPACE[first]
        lines += len(starts) - int(np.count_nonzero(starts_blank))
        lines += sum(1 for line_start, end in zip(starts[starts_blank], ends[starts_blank])
                     if data[line_start:end].strip())
    return lines
