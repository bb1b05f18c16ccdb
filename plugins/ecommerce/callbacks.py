"""Task callbacks shared by the DAGs."""

from __future__ import annotations

import logging

from ecommerce.business_date import business_date_or_unknown

log = logging.getLogger("ecommerce.failures")
#: Log groups Airflow can have open when a callback runs: "Pre Execute" and "Post Execute".
OPEN_GROUPS_AT_MOST = 2


def log_task_failure(context) -> None:
    """Log one line an operator can grep: dag, task, business date, try and error.

    Runs on every failed try (on_retry_callback and on_failure_callback). Airflow runs callbacks
    inside the log's collapsed "Post Execute" group, itself inside "Pre Execute" when the task
    failed before its execute began (the fail-once switch does). The UI folds groups as a stack
    and ignores a surplus close, so the line closes both first, to show without expanding
    anything, then opens "Post Execute" again for what follows.
    """
    ti = context["ti"]
    for _ in range(OPEN_GROUPS_AT_MOST):
        log.info("::endgroup::")
    error = context.get("exception")
    business_date = business_date_or_unknown(context)
    log.error(
        "TASK FAILED dag=%s task=%s business_date=%s try=%s error=%s",
        ti.dag_id, ti.task_id, business_date, ti.try_number,
        f"{type(error).__name__}: {error}" if error else "unknown",
    )
    log.info("::group::Post Execute")
