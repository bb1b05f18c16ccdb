"""Every run says which business date it processes, as its note.

The grid orders and labels runs by when they ran (``backfill__2026-11-30`` processed
2026-11-29; ``manual__2026-12-05T21:05:58`` processed 2026-11-20), so the run's note names the
date: ``business date 2026-11-29``. Airflow 3.3 shows a run's note at the top of the run's page
and marks a run that has one in the grid; the REST API returns it as the run's ``note``.

The scheduler sets it as it starts the run (``on_dag_run_running``, the listener of the plugin
``plugins/business_date_notes.py``), in its own transaction with the run's state: a task cannot
(tasks have no metadata database access in Airflow 3, and the execution API has no call that
sets a run's note), and calling the REST API from a task would need credentials in the task.
Any DAG with a ``business_date`` param gets one; the date follows the pipeline's rule
(``ecommerce.business_date``): the ``business_date`` of the run's conf, else the data
interval's start. A note someone wrote stays, after the date when it does not name it.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

#: Airflow's dag_run_note.content is a varchar(1000).
MAX_NOTE = 1000


def business_date_of_run(conf: dict | None, data_interval_start) -> str | None:
    """The business date a run processes, by the rule of ``business_date.business_date_of``
    (conf instead of the merged params: a DAG's business_date param defaults to empty)."""
    given = (conf or {}).get("business_date")
    if given:
        return str(given)
    if data_interval_start is None:
        return None
    return data_interval_start.strftime("%Y-%m-%d")


def with_business_date(note: str | None, business_date: str) -> str:
    """``note`` naming ``business_date``: the date alone, or before a note that does not name it."""
    label = f"business date {business_date}"
    if not note or not note.strip():
        return label
    if business_date in note:
        return note
    return f"{label} · {note}"[:MAX_NOTE]


def note_business_date(dag_run) -> None:
    """Set the run's note to name its business date, when its DAG has a ``business_date`` param."""
    dag = getattr(dag_run, "dag", None)
    if dag is None or "business_date" not in (getattr(dag, "params", None) or {}):
        return
    business_date = business_date_of_run(dag_run.conf, dag_run.data_interval_start)
    if business_date is None:  # the run's first task fails it with the reason
        return
    note = with_business_date(dag_run.note, business_date)
    if note != dag_run.note:
        dag_run.note = note
        log.info("run %s of %s: note %r", dag_run.run_id, dag_run.dag_id, note)
