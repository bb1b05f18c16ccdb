"""The freshness deadline: an alert when a business date is not loaded N hours after its day ends.

An Airflow Deadline Alert on ``ecommerce_pipeline`` (experimental in Airflow 3.1 to 3.3: its
interface may change without notice). Airflow creates a deadline with each dag run: the time
the run was queued plus ``ECOMMERCE_FRESHNESS_HOURS`` (default 6, a daily batch that normally
ends in minutes). A scheduled run is queued as its daily interval ends (00:00 UTC the day
after the business date), so its deadline is N hours after the interval's end. A run that
succeeds before then removes its deadline; one still running, queued or failed at that time
has missed it, and the scheduler hands :func:`late_date` to the executor (a
``SyncCallback``), which sends the alert through the notifiers of :mod:`ecommerce.alerts`
(mail via ``smtp_default``, Slack via ``slack_alerts``), saying how long after the business
date's end it is.

Why the queued time, not the logical date: a run without a logical date (a REST trigger with
``logical_date: null``, an asset-triggered run) gets no deadline from the logical date — tried
with ``make airflow``: no alert came — and a backfill of old dates would alert at once.

What it does not cover: a date no run was created for (the scheduler down over the whole
window, the DAG paused, ``catchup=False`` skipping intervals) has no deadline, so no alert; a
run queued late (a manual run, a backfill, a run created when the scheduler came back) counts
its N hours from when it was queued, not from the date's end.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone

FRESHNESS_HOURS_ENV = "ECOMMERCE_FRESHNESS_HOURS"
#: A daily batch starts at 00:00 UTC and takes minutes: six hours leaves room for retries.
DEFAULT_FRESHNESS_HOURS = 6.0
#: A business date's own interval: it ends one day after it starts.
INTERVAL = timedelta(days=1)


def freshness_hours(environ=os.environ) -> float:
    """``ECOMMERCE_FRESHNESS_HOURS`` (hours after a run is queued, fractions allowed)."""
    value = (environ.get(FRESHNESS_HOURS_ENV) or "").strip()
    if not value:
        return DEFAULT_FRESHNESS_HOURS
    try:
        hours = float(value)
    except ValueError:
        raise ValueError(f"{FRESHNESS_HOURS_ENV}={value!r} is not a number of hours") from None
    if not hours >= 0:
        raise ValueError(f"{FRESHNESS_HOURS_ENV}={value!r}: the hours must be 0 or more")
    return hours


def freshness_deadline(environ=os.environ):
    """The DAG's ``deadline``: the run's queued time + the freshness hours, then :func:`late_date`."""
    from airflow.sdk import DeadlineAlert, DeadlineReference, SyncCallback

    hours = freshness_hours(environ)
    return DeadlineAlert(reference=DeadlineReference.DAGRUN_QUEUED_AT,
                         interval=timedelta(hours=hours),
                         callback=SyncCallback(late_date, kwargs={"hours": hours}),
                         name="freshness")


def without_deadline(dag):
    """``dag`` for ``dag.test()``, which has no scheduler to notice a missed deadline: without it.

    In Airflow 3.3.2 ``dag.test()`` of a DAG with a deadline fails when the run succeeds: the
    run's ``update_state`` looks the deadline up by an id only the scheduler's DAG has.
    """
    dag.deadline = None
    return dag


def _when(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def business_date_of_run(dag_run: dict) -> str:
    """The run's ``business_date`` conf, else its data interval's start, else its logical date."""
    conf = dag_run.get("conf") or {}
    if conf.get("business_date"):
        return str(conf["business_date"])
    start = _when(dag_run.get("data_interval_start")) or _when(dag_run.get("logical_date"))
    return start.strftime("%Y-%m-%d") if start else "unknown"


def _duration(delta: timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 0)
    return f"{minutes // 60} h {minutes % 60:02d} min"


def late_alert(context: dict, hours: float, now: datetime | None = None):
    """The alert for a missed freshness deadline, from the context Airflow gives a deadline callback:
    ``dag_run`` (the run as the REST API shows it) and ``deadline`` (its ``deadline_time``)."""
    from ecommerce.alerts import Alert

    dag_run = context.get("dag_run") or {}
    now = now or datetime.now(timezone.utc)
    business_date = business_date_of_run(dag_run)
    lines = [("DAG", str(dag_run.get("dag_id", "unknown"))), ("Business date", business_date)]
    try:
        day_end = datetime.combine(date.fromisoformat(business_date) + INTERVAL, datetime.min.time(), timezone.utc)
        lines.append(("Late by", f"{_duration(now - day_end)} after the date's end ({day_end:%Y-%m-%d %H:%M} UTC)"))
    except ValueError:
        day_end = None
    deadline_time = _when((context.get("deadline") or {}).get("deadline_time"))
    lines += [("Freshness limit", f"{hours:g} h after the run was queued"
                                  + (f", deadline {deadline_time:%Y-%m-%d %H:%M} UTC" if deadline_time else "")),
              ("Run", f"{dag_run.get('dag_run_id', 'unknown')} ({dag_run.get('state', 'unknown')})")]
    late_by = f" ({_duration(now - day_end)} late)" if day_end else ""
    return Alert(subject=f"[ecommerce] NOT LOADED {dag_run.get('dag_id', 'unknown')} for {business_date}{late_by}",
                 lines=tuple(lines))


def late_date(context: dict, hours: float = DEFAULT_FRESHNESS_HOURS) -> int:
    """The deadline's callback (Airflow calls it with ``context`` and the kwargs): send the alert."""
    from ecommerce.alerts import send

    return send(late_alert(context, hours), context)
