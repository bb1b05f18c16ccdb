"""default_args shared by the DAGs: owner, retries with exponential backoff, a timeout, the
failure log line on every failed try, an alert on a task's final failure, the fail-once switch
and the warehouse pool."""

from __future__ import annotations

from datetime import timedelta

from ecommerce.alerts import TaskFailureNotifier
from ecommerce.callbacks import log_task_failure
from ecommerce.fail_once import fail_first_try
from ecommerce.settings import WAREHOUSE_POOL


def task_defaults(*, execution_timeout: timedelta, max_retry_delay: timedelta) -> dict:
    return {
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(seconds=20),
        "retry_exponential_backoff": True,
        "max_retry_delay": max_retry_delay,
        "execution_timeout": execution_timeout,
        "on_failure_callback": [log_task_failure, TaskFailureNotifier()],
        "on_retry_callback": log_task_failure,
        "pre_execute": fail_first_try,
        "pool": WAREHOUSE_POOL,
    }
