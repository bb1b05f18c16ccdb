"""Task callbacks shared by the DAGs."""

from __future__ import annotations

import logging

log = logging.getLogger("ecommerce.failures")


def business_date_of(context) -> str:
    """The business date a run works on: the ``business_date`` param, else the interval start."""
    params = context.get("params") or {}
    if params.get("business_date"):
        return str(params["business_date"])
    start = context.get("data_interval_start")
    return start.strftime("%Y-%m-%d") if start else "unknown"


def log_task_failure(context) -> None:
    """Log one line an operator can grep: dag, task, business date, try and error."""
    ti = context["ti"]
    error = context.get("exception")
    log.error(
        "TASK FAILED dag=%s task=%s business_date=%s try=%s error=%s",
        ti.dag_id, ti.task_id, business_date_of(context), ti.try_number,
        f"{type(error).__name__}: {error}" if error else "unknown",
    )
