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
    """What a task did to rows; operators fill it in while they work."""

    read: int = 0
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
         counts.read, counts.written, counts.rejected, round(duration, 3)),
    )
    rate = counts.read / duration if duration > 0 else 0.0
    log.info(
        "%s for %s: %d rows read, %d written, %d rejected in %.2fs (%.0f rows/s read)",
        ti.task_id, business_date, counts.read, counts.written, counts.rejected, duration, rate,
    )
