"""Write one ``audit.task_runs`` row per task run, and say the same figures in the task log."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass
class RowCounts:
    """What a task did to rows; operators fill it in while they work. ``read`` stays None for a
    task that does not count what it reads (a SQL model: its statements report rows affected,
    not rows scanned); its log line then leaves reading out, and ``audit.task_runs`` has 0."""

    read: int | None = None
    written: int = 0
    rejected: int = 0


@contextmanager
def task_run(cursor, context, business_date: str) -> Iterator[RowCounts]:
    """Count rows for the body, then record them in ``audit.task_runs`` on the same cursor.

    The audit row is written inside the task's own transaction, so a failed or retried try
    leaves no row claiming work that was rolled back.
    """
    counts = RowCounts()
    started = time.perf_counter()
    yield counts
    duration = time.perf_counter() - started
    ti = context["ti"]
    cursor.execute(
        """
        insert into audit.task_runs
            (dag_id, run_id, task_id, try_number, business_date,
             rows_read, rows_written, rows_rejected, duration_seconds)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        """,
        (ti.dag_id, ti.run_id, ti.task_id, ti.try_number, business_date,
         counts.read or 0, counts.written, counts.rejected, round(duration, 3)),
    )
    log.info("%s", summary(ti.task_id, business_date, counts, duration))


def summary(task_id: str, business_date: str, counts: RowCounts, duration: float) -> str:
    """The task log's line of what the task did: rows read (and their rate) only when counted."""
    if counts.read is None:
        return (f"{task_id} for {business_date}: {counts.written:,} rows written, {counts.rejected:,} rejected "
                f"in {duration:.2f}s")
    rate = counts.read / duration if duration > 0 else 0.0
    return (f"{task_id} for {business_date}: {counts.read:,} rows read, {counts.written:,} written, "
            f"{counts.rejected:,} rejected in {duration:.2f}s ({rate:,.0f} rows/s read)")
