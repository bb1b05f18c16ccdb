"""Airflow plugin: the scheduler notes each run's business date as it starts the run
(``ecommerce.run_notes``). The only module of plugins/ the plugin loader imports
(.airflowignore leaves out the ecommerce package)."""

from __future__ import annotations

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin


class BusinessDateNoteListener:
    @hookimpl
    def on_dag_run_running(self, dag_run, msg: str) -> None:
        from ecommerce.run_notes import note_business_date

        note_business_date(dag_run)


class BusinessDateNotes(AirflowPlugin):
    name = "ecommerce_business_date_notes"
    listeners = [BusinessDateNoteListener()]
