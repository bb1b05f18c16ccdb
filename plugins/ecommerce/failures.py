"""Failures a retry cannot fix fail the task at once; everything else keeps its retries.

Missing or malformed files, a landing folder that does not exist, bad parameters and an
error-severity quality check are contract violations: the same input fails the same way on
every try, so retrying only delays the alert. Lost connections, deadlocks, serialization
failures and timeouts are transient and are retried with backoff (the DAG's default_args).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class ContractViolation(Exception):
    """Input that breaks the data contract or the run's parameters; retrying cannot fix it."""


@contextmanager
def fail_fast() -> Iterator[None]:
    """Turn a ContractViolation raised in the body into Airflow's fail-without-retry, with
    the same message."""
    try:
        yield
    except ContractViolation as error:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(str(error)) from error
