"""Task callbacks shared by the DAGs."""

from __future__ import annotations

import logging

from ecommerce.business_date import business_date_of
from ecommerce.failures import ContractViolation

log = logging.getLogger("ecommerce.failures")


def log_task_failure(context) -> None:
    """Log one line an operator can grep: dag, task, business date, try and error.

    Runs on every failed try (on_retry_callback and on_failure_callback). Airflow runs callbacks
    inside the log's collapsed "Post Execute" group; the line closes that group first so it
    shows in the UI without expanding anything, then opens it again for what follows.
    """
    ti = context["ti"]
    log.info("::endgroup::")
    error = context.get("exception")
    try:
        business_date = business_date_of(context)
    except ContractViolation:
        business_date = "unknown"
    log.error(
        "TASK FAILED dag=%s task=%s business_date=%s try=%s error=%s",
        ti.dag_id, ti.task_id, business_date, ti.try_number,
        f"{type(error).__name__}: {error}" if error else "unknown",
    )
    log.info("::group::Post Execute")
