"""Advisory locks per table: what runs of different business dates may do at once.

The DAG orders a date's own tasks (a model after the models whose tables it needs; tests/dags
checks the graph against the tables their SQL reads and writes). Two dates run at once
(``max_active_runs``), and the same rule holds between them through these locks: a task takes,
as its transaction starts, an exclusive lock on each table it writes and a shared lock on each
table it reads, both from its SQL (``tables``). So a task never reads or writes a table while a
task of another date writes it, and every statement it runs sees each table as one whole
transaction left it, never part of another date's rewrite (under READ COMMITTED each statement
takes a snapshot of its own: without the locks, a model's first and second statements could see
before and after another date's dimension step). Two tasks that write nothing the other touches
run at once, whichever their dates; two writers of one table take turns. The locks are taken in
one order, their keys sorted, so two tasks never wait on each other in a circle; nothing else is
locked before them, and they are held until the transaction ends.

Two kinds of tables are exempt, each for its reason:

- ``WRITTEN_PER_DATE``: tables whose writers replace one business date's rows, which they lock
  per table and date (two dates' loads of ``production.transactions`` run at once). Their
  readers take no lock: a date's rows change only in that date's own load, whose later models
  (``fact_sales`` of that date) rebuild what depends on them. Two loads of one date never run
  at once: not for these locks, which a task holds only for its own transaction (between
  ``production.transactions`` and ``production.transaction_items`` the date's orders have no
  lines), but for the date's claim, which a run holds from its first task to its end
  (``ecommerce.date_claims``).
  Staging's tables are alike: the staging loader locks its table and date, and a date's
  models read that date's batch only.
- ``WRITTEN_IN_PARTS``: bookkeeping tables that tasks each write their own part of. Locking
  them would make tasks that share nothing else take turns: the models that take their own
  stale dates, the production models that quarantine their own lines. Producer and
  consumer still never overlap: those that add rows (a dimension to ``stale_dates``, a
  snapshot model to ``changed_keys``) write a table that those that take rows read (the facts,
  the snapshots), so they take turns on that table (tests/dags checks it). A row added after
  a consumer's run stays for its next run, which the DAG puts after every producer of its date.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ecommerce.lineage import PIPELINE_SCHEMAS, built_table, parse_sql

#: Tables written a business date at a time: locked per table and date by their writers.
WRITTEN_PER_DATE = frozenset({"production.transactions", "production.transaction_items"})

#: Bookkeeping tables each task writes its own part of, never locked (see the module's docstring).
WRITTEN_IN_PARTS = {
    "quarantine.rejected_rows": "each model adds the rejected lines of its own table and date",
    "audit.duplicates_collapsed": "each model adds the collapsed lines of its own table and date",
    "production.snapshot_dates": "each snapshot model sets its own table's row of its date",
    "production.changed_keys": "each snapshot model adds its table's keys; each dimension takes its own table's",
    "warehouse.stale_dates": "each dimension adds (model, date); each model takes its own",
}
#: Of those, the tables a producer adds rows to and a consumer takes them from: the two never
#: run at once, for they share another table (the module's docstring).
TAKEN_FROM = ("production.changed_keys", "warehouse.stale_dates")

#: The targets of data-changing statements: the parser misses some (an insert whose select
#: reads no table), and a missed write would be a missed lock.
_WRITE = re.compile(r"\b(?:insert\s+into|update|delete\s+from|truncate(?:\s+table)?|create\s+table)\s+(\w+\.\w+)",
                    re.IGNORECASE)


@dataclass(frozen=True)
class Lock:
    """An advisory lock on ``table`` (of one business date, for ``WRITTEN_PER_DATE``)."""
    table: str
    business_date: str | None
    exclusive: bool

    @property
    def key(self) -> int:
        return lock_key(self.table, self.business_date)


def lock_key(table: str, business_date: str | None = None) -> int:
    """The advisory lock key (a signed 64-bit integer) of a table, or of a table's date."""
    name = f"ecommerce.{table}" + (f"@{business_date}" if business_date else "")
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def tables(statements: Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
    """The pipeline tables ``statements`` read and write (``schema.table``): from the SQL parser
    (``ecommerce.lineage.parse_sql``), the targets of every data-changing statement added."""
    statements = tuple(statements)
    parsed = parse_sql(statements)
    written = set(parsed.outputs)
    for statement in statements:
        written |= {built_table(name.lower()) for name in _WRITE.findall(statement)
                    if name.split(".")[0].lower() in PIPELINE_SCHEMAS}
    return frozenset(parsed.inputs - written), frozenset(written)


def locks(reads: Iterable[str], writes: Iterable[str], business_date: str | None = None) -> list[Lock]:
    """The locks of a task that reads and writes these tables for ``business_date``, in the
    order to take them."""
    writes = set(writes) - WRITTEN_IN_PARTS.keys()
    reads = set(reads) - writes - WRITTEN_IN_PARTS.keys() - WRITTEN_PER_DATE
    wanted = [Lock(table, business_date if table in WRITTEN_PER_DATE else None, True) for table in writes]
    wanted += [Lock(table, None, False) for table in reads if not table.startswith("staging.")]
    return sorted(wanted, key=lambda lock: lock.key)


def take(cursor, wanted: list[Lock]) -> None:
    """Take ``wanted`` (``locks``'s order) for the rest of the cursor's transaction; each waits
    while a task of another date holds a conflicting one (a task waiting here shows as running,
    with ``wait_event`` ``advisory`` in ``pg_stat_activity``)."""
    for lock in wanted:
        function = "pg_advisory_xact_lock" if lock.exclusive else "pg_advisory_xact_lock_shared"
        cursor.execute(f"select {function}(%s)", (lock.key,))
