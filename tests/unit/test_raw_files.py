"""The careful scan's shortcut: runs of plain lines, unparsed, are exactly the records the
line-by-line scan finds there."""

from __future__ import annotations

import csv
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from ecommerce import line_index
from ecommerce.raw_files import MAX_FIELD_CHARS, PlainLines, Record, count_data_lines, scan_records

# Pieces of lines: plain text, separators, quotes, line breaks, and the bytes that are not plain.
PIECES = st.sampled_from([b"1", b"42", b"ab", b" ", b",", b",", b",", b'"', b'""', b"\n", b"\r\n", b"\r",
                          b"\x00", "é".encode(), b"\xff", b""])


def expanded(path, columns: int, plain_runs: bool) -> list:
    """Every item of the scan, a PlainLines run expanded into the Records it stands for."""
    items = []
    for item in scan_records(path, columns, 0, plain_runs=plain_runs):
        if isinstance(item, PlainLines):
            lines = item.data.decode("ascii").split("\n")[:item.count]
            items += [Record(item.line + offset, next(csv.reader([text])), 1) for offset, text in enumerate(lines)]
        else:
            items.append(item)
    return items


@settings(max_examples=300, deadline=None)
@given(body=st.lists(PIECES, max_size=60).map(b"".join), columns=st.integers(min_value=2, max_value=4))
def test_plain_runs_stand_for_the_same_records_as_the_line_by_line_scan(tmp_path_factory, body, columns):
    path = tmp_path_factory.mktemp("scan") / "file.csv"
    path.write_bytes(b"a,b,c,d\n" + body)
    assert expanded(path, columns, plain_runs=True) == expanded(path, columns, plain_runs=False)


def test_a_run_keeps_its_line_numbers_around_bad_lines(tmp_path):
    path = tmp_path / "file.csv"
    path.write_bytes(b"a,b\n1,2\n3,4\n5\n6,7\n\n8,9")
    items = list(scan_records(path, 2, plain_runs=True))
    assert [(type(item).__name__, item.line) for item in items] == [
        ("PlainLines", 2), ("Malformed", 4), ("PlainLines", 5), ("PlainLines", 7)]
    assert [item.count for item in items if isinstance(item, PlainLines)] == [2, 1, 1]


@settings(max_examples=300, deadline=None)
@given(body=st.lists(PIECES, max_size=60).map(b"".join), columns=st.integers(min_value=2, max_value=4),
       block=st.integers(min_value=1, max_value=12))
def test_scanning_in_small_blocks_finds_the_same_records(tmp_path_factory, body, columns, block):
    """Lines are judged plain block by block: a block boundary anywhere changes nothing."""
    path = tmp_path_factory.mktemp("scan") / "file.csv"
    path.write_bytes(b"a,b,c,d\n" + body)
    with patch.object(line_index, "SCAN_BLOCK", block):
        assert expanded(path, columns, plain_runs=True) == expanded(path, columns, plain_runs=False)


@settings(max_examples=300, deadline=None)
@given(body=st.lists(PIECES | st.sampled_from([b"\t", b"\x0b", b"\x0c", b"  \n"]), max_size=60).map(b"".join),
       block=st.sampled_from([3, line_index.SCAN_BLOCK]))
def test_data_lines_are_the_lines_with_more_than_whitespace(tmp_path_factory, body, block):
    path = tmp_path_factory.mktemp("count") / "file.csv"
    path.write_bytes(b"a,b\n" + body)
    with patch.object(line_index, "SCAN_BLOCK", block):
        assert count_data_lines(path) == sum(1 for line in body.split(b"\n") if line.strip())


def test_a_line_longer_than_a_field_may_be_is_judged_record_by_record(tmp_path):
    path = tmp_path / "file.csv"
    long = b"x" * (MAX_FIELD_CHARS + 1)
    path.write_bytes(b"a,b\n1,2\n" + long + b",3\n4,5\n")
    items = list(scan_records(path, 2, plain_runs=True))
    assert [(type(item).__name__, item.line) for item in items] == [
        ("PlainLines", 2), ("Malformed", 3), ("PlainLines", 4)]
    assert items[1].reason == "field_too_large"
