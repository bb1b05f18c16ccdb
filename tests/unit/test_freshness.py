"""The freshness deadline: its wiring on the DAG (as Airflow serializes it) and its callback, called
the way Airflow's executor calls a missed deadline's SyncCallback, sending to a real SMTP server."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import structlog
from aiosmtpd.controller import Controller

from conftest import free_port
from e2e.test_alerts_e2e import Inbox, late_mail
from e2e.test_pipeline_e2e import load_dag
from ecommerce import freshness

BUSINESS_DATE = "2026-11-20"


def a_missed_run(**overrides) -> dict:
    """The context Airflow's scheduler gives a missed deadline's callback (Deadline.handle_miss):
    the run as the REST API shows it, JSON-dumped, and the deadline."""
    dag_run = {"dag_run_id": "scheduled__2026-11-20T00:00:00+00:00", "dag_id": "ecommerce_pipeline",
               "logical_date": "2026-11-20T00:00:00Z", "data_interval_start": "2026-11-20T00:00:00Z",
               "data_interval_end": "2026-11-21T00:00:00Z", "run_type": "scheduled", "state": "running",
               "conf": {}, **overrides}
    return {"dag_run": dag_run,
            "deadline": {"id": "0193", "deadline_time": datetime(2026, 11, 21, 6, tzinfo=timezone.utc)}}


def test_the_hours_default_to_six_and_are_read_from_the_environment():
    assert freshness.freshness_hours({}) == 6.0
    assert freshness.freshness_hours({"ECOMMERCE_FRESHNESS_HOURS": " 0.25 "}) == 0.25
    for bad in ("six", "-1"):
        with pytest.raises(ValueError, match="ECOMMERCE_FRESHNESS_HOURS"):
            freshness.freshness_hours({"ECOMMERCE_FRESHNESS_HOURS": bad})


def test_the_pipeline_carries_the_deadline_as_airflow_serializes_it():
    """Queued time (a scheduled run's: its interval's end) + 6 h: 06:00 UTC the day after the date."""
    from airflow.sdk import DeadlineReference, SyncCallback
    from airflow.serialization.serialized_objects import DagSerialization

    [alert] = load_dag().deadline
    assert alert.reference == DeadlineReference.DAGRUN_QUEUED_AT
    assert alert.interval == timedelta(hours=6)
    assert isinstance(alert.callback, SyncCallback)
    assert alert.callback.path == "ecommerce.freshness.late_date" and alert.callback.kwargs == {"hours": 6.0}
    [serialized] = DagSerialization.to_dict(load_dag())["dag"]["deadline"]
    assert serialized["reference"] == {"reference_type": "DagRunQueuedAtDeadline"}
    assert serialized["callback"]["__data__"]["path"] == "ecommerce.freshness.late_date"


def test_the_alert_names_the_dag_the_date_and_how_late_it_is():
    now = datetime(2026, 11, 21, 7, 5, tzinfo=timezone.utc)
    alert = freshness.late_alert(a_missed_run(), hours=6.0, now=now)
    assert alert.subject == "[ecommerce] NOT LOADED ecommerce_pipeline for 2026-11-20 (7 h 05 min late)"
    text = alert.text()
    assert "Business date: 2026-11-20" in text and "Late by: 7 h 05 min after the date's end (2026-11-21 00:00 UTC)" in text
    assert "Freshness limit: 6 h after the run was queued, deadline 2026-11-21 06:00 UTC" in text
    manual = freshness.late_alert(a_missed_run(conf={"business_date": "2026-11-02"}), hours=6.0, now=now)
    assert "for 2026-11-02 (" in manual.subject


@pytest.fixture
def smtp(monkeypatch):
    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=free_port())
    server.start()
    monkeypatch.setenv("ECOMMERCE_ALERT_EMAILS", "ops@example.com")
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", f"smtp://127.0.0.1:{server.port}?disable_tls=true&disable_ssl=true")
    monkeypatch.delenv("AIRFLOW_CONN_SLACK_ALERTS", raising=False)
    try:
        yield inbox
    finally:
        server.stop()


def test_a_missed_tiny_deadline_mails_the_dag_the_date_and_how_late(smtp, monkeypatch):
    """The callback of a deadline set to 36 seconds, run as the executor runs a SyncCallback."""
    from airflow.sdk.execution_time.callback_supervisor import execute_callback

    monkeypatch.setenv("ECOMMERCE_FRESHNESS_HOURS", "0.01")
    alert = freshness.freshness_deadline()
    assert alert.interval == timedelta(seconds=36)
    ok, error = execute_callback(alert.callback.path, {**alert.callback.kwargs, "context": a_missed_run()},
                                 None, None, structlog.get_logger())
    assert (ok, error) == (True, None)
    assert "0.01 h after the run was queued" in late_mail(smtp, "2026-11-20", "2026-11-21")
