"""The CeleryExecutor of the compose profile ``celery`` loads from the locked packages.

celery 5.7.0 dropped ``celery.backends.database.retry``, which apache-airflow-providers-celery
3.26.0 imports: with it locked, the scheduler could not load the executor and ``airflow celery
worker`` could not start (ImportError), while nothing else in the suite noticed.
"""

from __future__ import annotations

import importlib


def import_string(path: str):
    """The object at a dotted path, imported as Airflow imports an executor or a CLI command."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_the_scheduler_can_load_the_celery_executor():
    from airflow.executors.executor_loader import ExecutorLoader

    # AIRFLOW__CORE__EXECUTOR=CeleryExecutor: the path the scheduler imports for that name
    executor = import_string(ExecutorLoader.executors["CeleryExecutor"])
    assert executor.__name__ == "CeleryExecutor"
    assert executor.__module__ == "airflow.providers.celery.executors.celery_executor"


def test_airflow_celery_worker_can_load_its_command_and_app():
    from airflow.providers.celery.cli.definition import CELERY_CLI_COMMAND_PATH, CELERY_COMMANDS

    # The function `airflow celery worker` runs, resolved as the CLI resolves it when called.
    worker = next(command for command in CELERY_COMMANDS if command.name == "worker")
    assert callable(import_string(f"{CELERY_CLI_COMMAND_PATH}.{worker.func.__name__}"))
    # What that function imports when it starts: the executor's Celery app.
    app = import_string("airflow.providers.celery.executors.celery_executor.app")
    assert app.main
