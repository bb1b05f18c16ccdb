"""Reading raw CSV files of the contract: the header, and a record-by-record validating scan.

``scan_records`` is the careful path the staging loader takes when PostgreSQL's COPY refuses a
file: it walks the file line by line, yields each well-formed record with its line number, and
each malformed one with a reason code, so the good rows still load and every bad line is
quarantined. Runs of plain lines — the right number of commas, no quote, ASCII, no NUL or
carriage return — need no parsing: ``line_index`` finds the lines that are not plain (a numpy
pass over the bytes, a block at a time as the scan reaches it), and the runs between them come
back as byte ranges for COPY.
"""

from __future__ import annotations

import csv
import mmap
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ecommerce.contract import RAW_COLUMNS
from ecommerce.failures import ContractViolation

#: A quoted field may span lines; a quote left open longer than this is broken quoting.
MAX_RECORD_LINES = 20
#: The longest field accepted, in characters (the csv module's own default is 131,072). A field
#: above it is quarantined as field_too_large on either load path.
MAX_FIELD_CHARS = 1 << 20
csv.field_size_limit(MAX_FIELD_CHARS)
_BLOCK = 1 << 20  # read size; not above MAX_FIELD_CHARS (see count_lines)

# Reason codes of malformed lines.
NUL_BYTE = "nul_byte"
INVALID_UTF8 = "invalid_utf8"
BROKEN_QUOTING = "broken_quoting"
WRONG_COLUMN_COUNT = "wrong_column_count"
FIELD_TOO_LARGE = "field_too_large"


class RawFileError(ContractViolation, ValueError):
    """A raw file that cannot be loaded at all: missing, empty, or lacking a required column."""


@dataclass(frozen=True)
class Record:
    line: int  # physical line number of the record's first line (the header is line 1)
    fields: list[str]
    lines: int = 1  # physical lines the record spans (more than one: a quoted line break)


@dataclass(frozen=True)
class PlainLines:
    """Consecutive plain lines, as the file has them (each ends with a line break, the file's
    last line possibly without): one record per line, its fields the text between commas."""

    line: int  # line number of the first
    data: bytes
    count: int


@dataclass(frozen=True)
class Malformed:
    line: int
    reason: str
    raw: str  # the line as text; undecodable bytes and NULs shown escaped
    key: str | None = None  # the business key, where it could be read from the line


def read_header(path: Path, table: str) -> list[str]:
    """Return the header of ``path`` after checking that it has every column of ``table``."""
    if not path.is_file():
        raise RawFileError(f"{path}: file not found")
    try:
        with path.open("rb") as handle:
            first = handle.readline()
    except OSError as error:
        raise RawFileError(f"{path}: cannot be read ({error.strerror})") from error
    if not first.strip():
        raise RawFileError(f"{path}: file is empty (no header row)")
    try:
        header = next(csv.reader([first.decode("utf-8-sig").rstrip("\r\n")], strict=True))
    except (UnicodeDecodeError, csv.Error) as error:
        raise RawFileError(f"{path}: header row is not valid UTF-8 CSV ({error})") from error
    header = [name.strip() for name in header]
    missing = [column for column in RAW_COLUMNS[table] if column not in header]
    if missing:
        raise RawFileError(f"{path}: header lacks required column(s) {', '.join(missing)}")
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise RawFileError(f"{path}: header repeats column(s) {', '.join(duplicated)}")
    return header


@dataclass(frozen=True)
class LineCount:
    lines: int  # physical lines after the header (blank lines included)
    longest: int  # bytes of the longest line, or a lower bound when every line fits a block


def count_lines(path: Path) -> LineCount:
    """Count physical lines after the header on raw bytes (fast), and find whether a line is
    longer than a read block — only such a line can hold a field over MAX_FIELD_CHARS."""
    lines = longest = open_line = 0
    last = b"\n"
    with path.open("rb") as handle:
        handle.readline()
        while block := handle.read(_BLOCK):
            newlines = block.count(b"\n")
            if newlines:
                longest = max(longest, open_line + block.find(b"\n"))
                open_line = len(block) - block.rfind(b"\n") - 1
            else:
                open_line += len(block)
            lines += newlines
            last = block[-1:]
    return LineCount(lines + (last != b"\n"), max(longest, open_line))


def count_data_lines(path: Path) -> int:
    """Non-blank physical lines after the header (a blank line holds nothing but whitespace)."""
    from ecommerce.line_index import data_lines

    if path.stat().st_size == 0:
        return 0
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        _, start = _line_at(data, 0)
        return data_lines(data, start)


#: More lines than this failing UTF-8 in one file: the file is probably in another encoding.
ENCODING_HINT_LINES = 3


def likely_encoding(path: Path) -> str:
    """The 8-bit encoding a file that is not UTF-8 most likely uses, judged by its bytes."""
    data = path.read_bytes()
    try:
        data.decode("cp1252")
        return "Windows-1252 (Latin-1 with the Windows additions)"
    except UnicodeDecodeError:
        return "ISO-8859-1 (Latin-1)"


def _show(raw: bytes) -> str:
    return raw.decode("utf-8", errors="backslashreplace").replace("\x00", "\\x00")


def read_key(raw: bytes, key_index: int | None) -> str | None:
    """The field at ``key_index`` of a malformed line, if it reads as a whole number.

    The line's start is parsed leniently (bad bytes replaced, quotes not enforced); a key field
    that is not all digits is taken as unreadable rather than guessed.
    """
    if key_index is None:
        return None
    # The key sits near the start: a field too large to parse after it does not hide it.
    text = raw[:1 << 16].replace(b"\x00", b"").decode("utf-8", errors="replace")
    try:
        fields = next(csv.reader([text]), [])
    except csv.Error:
        return None
    key = fields[key_index].strip() if key_index < len(fields) else ""
    return key if key.isascii() and key.isdigit() else None


def _line_at(data, position: int) -> tuple[bytes, int]:
    """The line starting at ``position`` without its line break, and where the next one starts."""
    end = data.find(b"\n", position)
    end = len(data) if end < 0 else end
    return data[position:end].rstrip(b"\r\n"), end + 1


def scan_records(path: Path, columns: int, key_index: int | None = None,
                 plain_runs: bool = False) -> Iterator[Record | Malformed | PlainLines]:
    """Yield every data record of ``path`` or the reason its line is malformed.

    Blank lines are skipped. A line with an odd number of quotes continues on the next lines
    (an RFC 4180 field with a line break) until the quotes balance; if they do not within
    MAX_RECORD_LINES lines, the first line alone is rejected as broken quoting and the scan
    resumes on the line after it. A malformed line carries the field at ``key_index`` where it
    can be read (see ``read_key``). With ``plain_runs``, runs of plain lines come as PlainLines
    instead of one Record each (the same records, unparsed). The file is memory-mapped.
    """
    with path.open("rb") as handle:
        if path.stat().st_size == 0:
            return
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield from _scan(data, columns, key_index, plain_runs)


def _scan(data, columns: int, key_index: int | None, plain_runs: bool):
    _, position = _line_at(data, 0)  # the header
    line = 2
    size = len(data)
    # Lines are judged plain a block at a time, as the scan reaches them: the first runs are on
    # their way to COPY while the rest of the file is still being read.
    blocks = None
    if plain_runs:
        from ecommerce.line_index import not_plain_blocks

        blocks = not_plain_blocks(data, position, columns, MAX_FIELD_CHARS)
    not_plain, judged_to, next_not_plain = [], position, 0
    while position < size:
        if blocks is not None:
            while position >= judged_to:  # a record spanning lines may have left the block
                (not_plain, judged_to), next_not_plain = next(blocks), 0
            # A record spanning lines may have taken lines that were not plain.
            next_not_plain = bisect_left(not_plain, position, next_not_plain)
            end = not_plain[next_not_plain] if next_not_plain < len(not_plain) else judged_to
            if end > position:
                run = data[position:end]
                count = run.count(b"\n") + (not run.endswith(b"\n"))
                yield PlainLines(line, run, count)
                position, line = end, line + count
                continue
        item, position = _record_at(data, position, line, columns, key_index)
        if item is not None:
            yield item
        line += item.lines if isinstance(item, Record) else 1


def _record_at(data, position: int, line: int, columns: int,
               key_index: int | None) -> tuple[Record | Malformed | None, int]:
    """The record starting at ``position`` (None for a blank line) or why its line is malformed,
    and where the scan goes on: after the record, or after the malformed line alone."""
    raw, after = _line_at(data, position)
    if not raw.strip():
        return None, after

    def malformed(reason: str) -> tuple[Malformed, int]:
        return Malformed(line, reason, _show(raw), read_key(raw, key_index)), after

    if b"\x00" in raw:
        return malformed(NUL_BYTE)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return malformed(INVALID_UTF8)
    extra, end = 0, after
    while text.count('"') % 2 and extra < MAX_RECORD_LINES - 1 and end < len(data):
        following, end = _line_at(data, end)
        text += "\n" + following.decode("utf-8", errors="replace")
        extra += 1
    try:
        if text.count('"') % 2:
            raise csv.Error("unterminated quoted field")
        fields = next(csv.reader([text], strict=True))
    except csv.Error as error:
        return malformed(FIELD_TOO_LARGE if "field larger than field limit" in str(error) else BROKEN_QUOTING)
    if len(fields) != columns:
        # Quotes that balance only by swallowing other lines are the line's quoting fault.
        return malformed(BROKEN_QUOTING if extra else WRONG_COLUMN_COUNT)
    return Record(line, fields, 1 + extra), end
