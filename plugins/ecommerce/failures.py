"""Failures a retry cannot fix fail the task at once; everything else keeps its retries.

Missing or malformed files, a landing folder that does not exist, bad parameters and an
error-severity quality check are contract violations; a data folder that cannot be written is
a setup problem. Either way the same try fails the same way again, so retrying only delays the
alert. Lost connections, deadlocks, serialization failures and timeouts are transient and are
retried with backoff (the DAG's default_args).
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager


class PermanentFailure(Exception):
    """A failure that a retry cannot fix."""


class ContractViolation(PermanentFailure):
    """Input that breaks the data contract or the run's parameters."""


class SetupProblem(PermanentFailure):
    """The machine is set up so that the task cannot work (e.g. a read-only data folder)."""


#: OS errors that come back on every try: permissions, read-only or full file systems, a file
#: where a folder should be.
PERMANENT_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT,
                              errno.ENOTDIR, errno.EISDIR})


@contextmanager
def fail_fast() -> Iterator[None]:
    """Turn a PermanentFailure raised in the body into Airflow's fail-without-retry, with the
    same message."""
    try:
        yield
    except PermanentFailure as error:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(str(error)) from error
