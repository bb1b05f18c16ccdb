"""A switch that makes one chosen task fail on its first try, to watch a retry happen.

Name the task id (e.g. ``production.transactions``) in the run's ``fail_once`` param, or in the
ECOMMERCE_FAIL_ONCE environment variable for every run. The task's first try raises before it
does any work; its retry then runs normally, so the data after the retry equals a clean run.
"""

from __future__ import annotations

import os

FAIL_ONCE_ENV = "ECOMMERCE_FAIL_ONCE"


class InjectedFailure(RuntimeError):
    """The failure asked for by the fail-once switch."""


def fail_first_try(context) -> None:
    """``pre_execute`` hook: raise on the first try of the task the switch names."""
    ti = context["ti"]
    target = (context.get("params") or {}).get("fail_once") or os.environ.get(FAIL_ONCE_ENV)
    if target and target == ti.task_id and ti.try_number == 1:
        raise InjectedFailure(f"fail-once switch: {ti.task_id} fails its first try on purpose; the retry will run it")
