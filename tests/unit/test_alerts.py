"""Alert messages and the switch: what an alert says, and one log line when alerts are off."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from ecommerce import alerts

TI = SimpleNamespace(dag_id="ecommerce_pipeline", task_id="production.customers", try_number=3,
                     log_url="http://ui.test/dags/ecommerce_pipeline/runs/r/tasks/production.customers?try_number=3")


def test_recipients_are_comma_separated_and_trimmed():
    assert alerts.recipients({"ECOMMERCE_ALERT_EMAILS": " a@x.test, b@x.test ,,"}) == ["a@x.test", "b@x.test"]
    assert alerts.recipients({}) == []


def test_a_failure_alert_names_dag_task_date_try_first_error_line_and_log_link():
    error = ValueError("customers.csv line 7: {{ not a template }}\nsecond line")
    alert = alerts.task_failure({"ti": TI, "params": {"business_date": "2026-11-20"}, "exception": error})
    assert alert.subject == "[ecommerce] FAILED ecommerce_pipeline.production.customers for 2026-11-20"
    text = alert.text()
    assert "Try: 3" in text and "Error: ValueError: customers.csv line 7: {{ not a template }}" in text
    assert "second line" not in text and f"Log: {TI.log_url}" in text
    assert "&lt;" not in alert.html() and "<a href='http://ui.test/" in alert.html()


def test_braces_in_an_error_survive_the_notifiers_template_rendering():
    from jinja2 import Environment

    raw = alerts._raw("bad value {{ 1 + 1 }} and {% if %}")
    assert Environment().from_string(raw).render() == "bad value {{ 1 + 1 }} and {% if %}"


def test_a_quality_warning_alert_lists_each_check_with_observed_and_threshold():
    check = SimpleNamespace(name="customers_id_unique", table="staging.customers", threshold=0.01)
    result = SimpleNamespace(check=check, observed=0.034, failing_rows=17, batch_rows=500)
    alert = alerts.quality_warnings({"ti": TI}, "2026-11-20", [result])
    assert alert.subject == "[ecommerce] 1 quality warning(s) for 2026-11-20"
    assert "customers_id_unique (staging.customers): observed 0.034, threshold 0.01, 17 of 500 rows" in alert.text()


def test_counts_are_whole_numbers_in_the_gates_table_and_its_warning_mail():
    """A row count of 36,360 was printed 3.636e+04 (format .4g); fractions keep 4 digits."""
    from ecommerce.quality import engine

    count = SimpleNamespace(name="transactions_volume", table="staging.transactions", severity="error",
                            threshold=1000.0)
    rate = SimpleNamespace(name="customers_email_valid", table="staging.customers", severity="warn",
                           threshold=0.01)
    results = [SimpleNamespace(check=count, observed=36360.0, failing_rows=0, batch_rows=36360, status="pass"),
               SimpleNamespace(check=rate, observed=0.003456789, failing_rows=1234, batch_rows=357000,
                               status="pass")]
    rows = [line.split() for line in engine.format_table(results).splitlines()[2:]]
    assert [row[3:5] for row in rows] == [["36,360", "1,000"], ["0.003457", "0.01"]]
    text = alerts.quality_warnings({"ti": TI}, "2026-11-20", results).text()
    assert "transactions_volume (staging.transactions): observed 36,360, threshold 1,000, 0 of 36,360 rows" in text
    assert "observed 0.003457, threshold 0.01, 1,234 of 357,000 rows" in text


def test_with_nothing_configured_one_line_says_alerts_are_off(monkeypatch, caplog):
    monkeypatch.delenv("ECOMMERCE_ALERT_EMAILS", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_SLACK_ALERTS", raising=False)
    caplog.set_level(logging.INFO, logger="ecommerce.alerts")
    alert = alerts.task_failure({"ti": TI, "params": {"business_date": "2026-11-20"}, "exception": None})
    assert alerts.send(alert, {"ti": TI}) == 0
    [line] = [r.getMessage() for r in caplog.records if r.name == "ecommerce.alerts"]
    assert line.startswith("alerts are off") and alert.subject in line


def test_a_connection_lookup_the_execution_api_refuses_skips_slack_and_keeps_the_mail(monkeypatch, caplog):
    """A deadline callback reads connections from environment variables only: the Execution API
    answers it "permission denied" for the others, which stopped every notifier."""
    from unittest import mock

    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowSecretsBackendAccessDenied

    monkeypatch.setenv("ECOMMERCE_ALERT_EMAILS", "ops@example.com")
    caplog.set_level(logging.WARNING, logger="ecommerce.alerts")
    denied = AirflowSecretsBackendAccessDenied("Access denied for connection 'slack_alerts' by Execution API")
    with mock.patch.object(BaseHook, "get_connection", side_effect=denied):
        found = alerts.notifiers(alerts.task_failure({"ti": TI, "params": {"business_date": "2026-11-20"}}))
    assert [type(n).__name__ for n in found] == ["SmtpNotifier"]
    assert any("no Slack alert" in r.getMessage() for r in caplog.records)
