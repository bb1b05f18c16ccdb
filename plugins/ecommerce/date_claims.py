"""One DAG run per business date at a time; other dates run in parallel.

Two runs of the same date at once (a scheduled run and a manual trigger, a backfill over a
date that is running) would interleave their replacements of the date's data. The first task
of a run claims its date in ``audit.date_claims``; a second run of the date waits, saying which
run it waits for, until that run is no longer queued or running, then takes the claim over. A
claim is never released: a finished, failed or vanished holder is simply no longer active.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

ACTIVE_STATES = frozenset({"queued", "running"})


def claim(cursor, business_date: str, dag_id: str, run_id: str, run_state: Callable[[str, str], str | None],
          poll_seconds: float = 10.0) -> None:
    """Claim ``business_date`` for the run, waiting while another active run holds it.

    ``cursor`` must be on an autocommit connection (a claim is seen by other runs at once);
    ``run_state(dag_id, run_id)`` gives a run's state, or None when it no longer exists.
    """
    while True:
        cursor.execute(
            """
            insert into audit.date_claims as claims (business_date, dag_id, run_id) values (%s, %s, %s)
            on conflict (business_date) do update set claimed_at = clock_timestamp()
            where claims.dag_id = excluded.dag_id and claims.run_id = excluded.run_id
            returning run_id
            """, (business_date, dag_id, run_id))
        if cursor.fetchone():
            return
        cursor.execute("select dag_id, run_id, claimed_at from audit.date_claims where business_date = %s",
                       (business_date,))
        holder = cursor.fetchone()
        if holder is None:
            continue
        holder_dag, holder_run, since = holder
        state = run_state(holder_dag, holder_run)
        if state not in ACTIVE_STATES:
            cursor.execute(
                "update audit.date_claims set dag_id = %s, run_id = %s, claimed_at = clock_timestamp() "
                "where business_date = %s and dag_id = %s and run_id = %s",
                (dag_id, run_id, business_date, holder_dag, holder_run))
            if cursor.rowcount == 1:
                log.info("business date %s: claimed from run %s, which is %s", business_date, holder_run,
                         state or "gone")
                return
            continue
        log.warning("business date %s is being loaded by run %s of %s (%s since %s); waiting for it to finish",
                    business_date, holder_run, holder_dag, state, since)
        time.sleep(poll_seconds)


def airflow_run_state(ti) -> Callable[[str, str], str | None]:
    """A run's state as Airflow's metadata has it (through the task's supervisor), by name."""

    def run_state(dag_id: str, run_id: str) -> str | None:
        try:
            state = ti.get_dagrun_state(dag_id, run_id)
        except Exception:  # noqa: BLE001 - a run deleted from the metadata is simply gone
            return None
        return getattr(state, "value", state)  # a DagRunState enum: its plain name

    return run_state


def claim_for_run(context, conn_id: str) -> str:
    """Claim the business date of the task's DAG run; return the date."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    from ecommerce.business_date import business_date_of

    business_date = business_date_of(context)
    with PostgresHook(postgres_conn_id=conn_id).get_conn() as conn:
        conn.autocommit = True
        with conn.cursor() as cursor:
            claim(cursor, business_date, context["dag"].dag_id, context["run_id"], airflow_run_state(context["ti"]))
    return business_date
