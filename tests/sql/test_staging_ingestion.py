"""CsvToStagingOperator against the real PostgreSQL, with real files good and bad."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException

from conftest import task_context
from ecommerce.contract import RAW_COLUMNS
from ecommerce.operators.csv_to_staging import CsvToStagingOperator
from ecommerce.raw_files import RawFileError

DATE = "2026-11-20"
HEADER = ",".join(RAW_COLUMNS["customers"])


def customer_line(customer_id: int, first: str = "Ann", email: str | None = None) -> str:
    email = email or f"c{customer_id}@example.com"
    return f"{customer_id},{first},Lee,{email},+1-555-0100,1 Main St,Springfield,IL,62701,US,2025-01-01,2026-11-20T10:00:00Z"


def write(folder: Path, text: str | bytes, name: str = "customers.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return folder


def load(folder: Path, table: str = "customers", date: str = DATE) -> int:
    operator = CsvToStagingOperator(task_id=f"load_{table}", table=table, source_dir=str(folder), business_date=date)
    return operator.execute(task_context(f"ingest_staging.{table}"))


def staged(db, table: str = "customers", date: str = DATE) -> list[tuple]:
    return db.execute(
        f"select source_line, customer_id, first_name, email from staging.{table} "
        "where batch_date = %s order by source_line", (date,)).fetchall()


def quarantined(db, date: str = DATE) -> list[tuple]:
    return db.execute(
        "select source_line, reason, raw_record from quarantine.rejected_rows "
        "where batch_date = %s and stage = 'staging' order by source_line", (date,)).fetchall()


@pytest.fixture(autouse=True)
def _empty(empty_warehouse):
    pass


def test_loads_rows_with_line_numbers_and_metadata(db, tmp_path):
    folder = write(tmp_path, "\n".join([HEADER, customer_line(1), customer_line(2)]) + "\n")
    assert load(folder) == 2
    assert staged(db) == [(2, "1", "Ann", "c1@example.com"), (3, "2", "Ann", "c2@example.com")]
    source_file, loaded_at = db.execute("select distinct source_file, loaded_at is not null from staging.customers").fetchone()
    assert source_file == str(folder / "customers.csv") and loaded_at


@pytest.mark.parametrize("malformed", [False, True], ids=["whole file", "record by record"])
def test_the_batchs_file_and_load_time_are_kept_once_not_on_every_row(db, tmp_path, malformed):
    """source_file and loaded_at are the same on every row of a batch: the partition holds them
    in its catalog (a column added with a constant default), so each COPYed row is narrower."""
    lines = [HEADER, customer_line(1), "broken,line" if malformed else customer_line(2), customer_line(3)]
    folder = write(tmp_path, "\n".join(lines) + "\n")
    load(folder)
    assert db.execute("select attname, atthasmissing from pg_attribute where attrelid = "
                      "'staging.customers_20261120'::regclass and attname in ('source_file', 'loaded_at') "
                      "order by attname").fetchall() == [("loaded_at", True), ("source_file", True)]
    assert db.execute("select count(*), count(distinct (source_file, loaded_at)), min(source_file) "
                      "from staging.customers").fetchone() == (3 - malformed, 1, str(folder / "customers.csv"))


def test_a_loaded_batch_has_planner_statistics_at_once(db, tmp_path):
    """The models run right after the load; planned on a partition never analyzed (reltuples
    -1) they looped over the batch once per row."""
    load(write(tmp_path, "\n".join([HEADER, customer_line(1), customer_line(2), customer_line(3)]) + "\n"))
    assert db.execute("select reltuples from pg_class where oid = 'staging.customers_20261120'::regclass"
                      ).fetchone()[0] == 3


def test_rerun_replaces_the_batch_and_never_appends(db, tmp_path):
    folder = write(tmp_path, "\n".join([HEADER, customer_line(1), customer_line(2)]) + "\n")
    load(folder)
    write(tmp_path, "\n".join([HEADER, customer_line(3)]) + "\n")
    load(folder)
    assert staged(db) == [(2, "3", "Ann", "c3@example.com")]
    # the sequences that numbered the two loads' lines are gone with them
    assert db.execute("select count(*) from pg_sequences where schemaname = 'staging'").fetchone()[0] == 0


def test_other_dates_are_left_alone(db, tmp_path):
    load(write(tmp_path / "a", "\n".join([HEADER, customer_line(1)]) + "\n"), date="2026-11-19")
    load(write(tmp_path / "b", "\n".join([HEADER, customer_line(2)]) + "\n"))
    assert [row[1] for row in staged(db, date="2026-11-19")] == ["1"]


def test_columns_in_any_order_and_extra_columns_ignored(db, tmp_path, capsys):
    columns = list(reversed(RAW_COLUMNS["customers"])) + ["loyalty_tier", "batch_date"]
    values = list(reversed(customer_line(7).split(","))) + ["gold", "1999-01-01"]
    folder = write(tmp_path, ",".join(columns) + "\n" + ",".join(values) + "\n")
    load(folder)
    assert staged(db) == [(2, "7", "Ann", "c7@example.com")]
    assert "ignoring column(s) outside the contract: loyalty_tier, batch_date" in capsys.readouterr().out


def test_bom_and_crlf_line_ends_are_fine(db, tmp_path):
    folder = write(tmp_path, ("\ufeff" + "\r\n".join([HEADER, customer_line(1), customer_line(2)]) + "\r\n").encode())
    load(folder)
    assert staged(db) == [(2, "1", "Ann", "c1@example.com"), (3, "2", "Ann", "c2@example.com")]


def test_hostile_and_non_ascii_values_arrive_unchanged(db, tmp_path):
    hostile = "Robert'); drop table staging.customers;--"
    line = customer_line(1, first=f'"{hostile}"')
    folder = write(tmp_path, "\n".join([HEADER, line, customer_line(2, first="Zoë-Łucja 李")]) + "\n")
    load(folder)
    assert [row[2] for row in staged(db)] == [hostile, "Zoë-Łucja 李"]


def test_quoted_line_break_is_one_record_with_its_first_line_number(db, tmp_path):
    multi = customer_line(2).replace("1 Main St", '"1 Main St\nApt 4"')
    folder = write(tmp_path, "\n".join([HEADER, customer_line(1), multi, customer_line(3)]) + "\n")
    load(folder)
    assert [(row[0], row[1]) for row in staged(db)] == [(2, "1"), (3, "2"), (5, "3")]
    assert db.execute("select address from staging.customers where customer_id = '2'").fetchone()[0] == "1 Main St\nApt 4"


def test_the_careful_path_keeps_every_line_number_around_blank_bad_and_spanning_lines(db, tmp_path):
    """One COPY numbers the rows of the careful path: blank lines, malformed lines and the
    extra lines of a record spanning lines must not shift the numbers after them. Their
    placeholders are dropped; a line of empty fields, or a record whose first field is quoted
    and empty, is a record and stays."""
    empty_fields = "," * (len(RAW_COLUMNS["customers"]) - 1)
    lines = [HEADER, customer_line(1), "", "9,too,few", customer_line(4, first="Zoë"),
             customer_line(5).replace("1 Main St", '"1 Main St\nApt 4"'), customer_line(7), empty_fields, "   ",
             customer_line(9).replace("Ann", '"Ann, Jr."'), customer_line(10), customer_line(11).replace("11,", '"",', 1)]
    load(write(tmp_path, "\n".join(lines) + "\n"))
    assert [(row[0], row[1], row[2]) for row in staged(db)] == [
        (2, "1", "Ann"), (5, "4", "Zoë"), (6, "5", "Ann"), (8, "7", "Ann"), (9, None, None), (11, "9", "Ann, Jr."),
        (12, "10", "Ann"), (13, None, "Ann")]  # written back as CSV, an empty field is unquoted: NULL
    assert db.execute("select source_line, source_lines from staging.customers where source_lines > 1").fetchall() == [(6, 2)]
    assert [(row[0], row[1]) for row in quarantined(db)] == [(4, "wrong_column_count")]


@pytest.mark.parametrize("bad_line, reason", [
    (b"9,too,few,columns", "wrong_column_count"),
    (customer_line(9).encode() + b",extra", "wrong_column_count"),
    (customer_line(9).replace("Ann", '"Ann').encode(), "broken_quoting"),
    (customer_line(9).replace("Lee", '"Lee,x').encode(), "broken_quoting"),
    (customer_line(9).replace("Ann", "An\xff").encode("latin-1"), "invalid_utf8"),
    (customer_line(9).replace("Ann", "An\x00n").encode(), "nul_byte"),
])
def test_each_malformed_line_kind_is_quarantined_and_the_rest_loads(db, tmp_path, bad_line, reason):
    text = b"\n".join([HEADER.encode(), customer_line(1).encode(), bad_line, customer_line(3).encode()]) + b"\n"
    load(write(tmp_path, text))
    assert [(row[0], row[1]) for row in staged(db)] == [(2, "1"), (4, "3")]
    [(line, got_reason, raw)] = quarantined(db)
    assert (line, got_reason) == (3, reason)
    assert raw and "9" in raw
    audit = db.execute(
        "select rows_read, rows_written, rows_rejected from audit.task_runs where task_id = 'ingest_staging.customers'"
    ).fetchone()
    assert audit == (3, 2, 1)


def test_rerun_of_a_fixed_file_clears_its_old_quarantine(db, tmp_path):
    load(write(tmp_path, "\n".join([HEADER, customer_line(1), "9,bad"]) + "\n"))
    assert len(quarantined(db)) == 1
    load(write(tmp_path, "\n".join([HEADER, customer_line(1), customer_line(9)]) + "\n"))
    assert quarantined(db) == []
    assert len(staged(db)) == 2


@pytest.mark.parametrize("content, message", [
    (None, "file not found"),
    (b"", "file is empty"),
    (b"\n\n", "file is empty"),
    (b"customer_id,first_name\n1,Ann\n", "lacks required column(s) last_name, email"),
    ((HEADER + ",email\n").encode(), "repeats column(s) email"),
])
def test_unloadable_files_fail_clearly_and_change_nothing(db, tmp_path, content, message):
    load(write(tmp_path / "before", "\n".join([HEADER, customer_line(1)]) + "\n"))
    folder = tmp_path / "bad"
    folder.mkdir()
    if content is not None:
        write(folder, content)
    with pytest.raises(AirflowFailException, match=re.escape(message)) as error:  # not retried
        load(folder)
    assert isinstance(error.value.__cause__, RawFileError)
    assert str(folder / "customers.csv") in str(error.value)
    assert [row[1] for row in staged(db)] == ["1"]


def test_a_load_failing_mid_copy_leaves_the_previous_batch_intact(db, tmp_path, monkeypatch):
    import pathlib

    from ecommerce.operators import csv_to_staging

    load(write(tmp_path, "\n".join([HEADER, customer_line(1)]) + "\n"))
    write(tmp_path, "\n".join([HEADER] + [customer_line(n) for n in range(2, 5000)]) + "\n")

    class DiesMidCopy:
        """A file whose third COPY-sized read fails, as when a disk or a worker dies."""

        def __init__(self, handle):
            self.handle, self.reads = handle, 0

        def read(self, size=-1):
            if size == csv_to_staging.COPY_CHUNK_BYTES:
                self.reads += 1
                if self.reads == 3:
                    raise OSError("disk went away mid-COPY")
            return self.handle.read(size)

        def __getattr__(self, name):
            return getattr(self.handle, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    real_open = pathlib.Path.open
    monkeypatch.setattr(csv_to_staging, "COPY_CHUNK_BYTES", 4096)
    monkeypatch.setattr(pathlib.Path, "open",
                        lambda self, mode="r", *a, **k: DiesMidCopy(real_open(self, mode, *a, **k))
                        if mode == "rb" else real_open(self, mode, *a, **k))
    with pytest.raises(OSError, match="mid-COPY"):
        load(tmp_path)
    assert [row[1] for row in staged(db)] == ["1"]
    assert db.execute("select count(*) from audit.task_runs").fetchone()[0] == 1
    leftovers = db.execute("select count(*) from pg_class where relname like 'customers_%%_loading'").fetchone()[0]
    assert leftovers == 0


def test_a_quoted_line_break_is_staged_and_passes_the_gates_reconciliation(db, tmp_path):
    from ecommerce.quality import engine
    from ecommerce.quality.checks import load_checks
    from ecommerce.settings import QUALITY_DIR

    two_line_address = customer_line(2).replace("1 Main St", '"1 Main St\nApartment 4"')
    folder = write(tmp_path, "\n".join([HEADER, customer_line(1), two_line_address, customer_line(3)]) + "\n")
    assert load(folder) == 3
    assert db.execute("select source_line, source_lines, address from staging.customers order by 1").fetchall() == [
        (2, 1, "1 Main St"), (3, 2, "1 Main St\nApartment 4"), (5, 1, "1 Main St")]
    check = next(c for c in load_checks(QUALITY_DIR / "staging.yml") if c.name == "customers_reconcile")
    result = engine.evaluate(db.cursor(), check, DATE)
    assert (result.status, result.observed) == ("pass", 0)


@pytest.mark.parametrize("malformed_too", [False, True], ids=["fast path", "record-by-record path"])
def test_a_field_over_the_cap_is_quarantined_as_field_too_large_on_both_paths(db, tmp_path, malformed_too):
    from ecommerce.raw_files import MAX_FIELD_CHARS

    big = customer_line(2, first="B" * (MAX_FIELD_CHARS + 1))
    long_but_allowed = customer_line(3, first="C" * 200_000)  # over the csv module's default limit
    lines = [HEADER, customer_line(1), big, long_but_allowed] + (["4,only,three"] if malformed_too else [])
    assert load(write(tmp_path, "\n".join(lines) + "\n")) == 2
    assert [(line, reason) for line, reason, _ in quarantined(db)] == [(3, "field_too_large")] + (
        [(5, "wrong_column_count")] if malformed_too else [])
    assert [row[1] for row in staged(db)] == ["1", "3"]
    assert db.execute("select record_key from quarantine.rejected_rows where reason = 'field_too_large'"
                      ).fetchone()[0] == "2", "the customer still exists"


def test_a_latin1_file_gets_one_warning_naming_the_likely_encoding(db, tmp_path, capfd):
    from ecommerce.quality import engine
    from ecommerce.quality.checks import load_checks
    from ecommerce.settings import QUALITY_DIR

    lines = [HEADER] + [customer_line(n, first=name) for n, name in enumerate(["Zoë", "José", "Ann", "Renée", "Jürgen",
                                                                              "Ann"], start=1)]
    write(tmp_path, ("\n".join(lines) + "\n").encode("cp1252"))
    assert load(tmp_path) == 2
    assert [reason for _, reason, _ in quarantined(db)] == ["invalid_utf8"] * 4
    hints = [line for line in "".join(capfd.readouterr()).splitlines() if "not UTF-8" in line]
    assert len(hints) == 1 and "4 lines are not UTF-8" in hints[0] and "Windows-1252" in hints[0]
    check = next(c for c in load_checks(QUALITY_DIR / "staging.yml") if c.name == "files_are_utf8")
    result = engine.evaluate(db.cursor(), check, DATE)
    assert (result.status, result.sample[0]["lines_not_utf8"]) == ("warn", 4)
