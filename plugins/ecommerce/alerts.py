"""Alerts through Airflow's notifier interface: a task's final failure and a quality gate that
ends with warnings.

Where they go is set by the deployment, not the DAG: mail to ``ECOMMERCE_ALERT_EMAILS``
(comma-separated) through the SMTP connection ``smtp_default`` (``AIRFLOW_CONN_SMTP_DEFAULT``),
with ``SmtpNotifier``; and Slack through the connection ``slack_alerts``, with
``SlackWebhookNotifier``, where that connection exists. With neither, one log line says alerts
are off. Each alert names the DAG, task, business date and try, and links to the task's log in
the UI (``AIRFLOW__API__BASE_URL``).
"""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

from airflow.sdk import BaseNotifier

from ecommerce.business_date import business_date_or_unknown

log = logging.getLogger("ecommerce.alerts")

ALERT_EMAILS_ENV = "ECOMMERCE_ALERT_EMAILS"
ALERT_FROM_ENV = "ECOMMERCE_ALERT_FROM"
DEFAULT_FROM = "ecommerce-pipeline@localhost"
SMTP_CONN_ID = "smtp_default"
SLACK_CONN_ID = "slack_alerts"


@dataclass(frozen=True)
class Alert:
    subject: str
    lines: tuple[tuple[str, str], ...]   # (label, value) rows
    details: tuple[str, ...] = ()        # further lines (e.g. one per quality check)
    link: str | None = None

    def text(self) -> str:
        body = [self.subject, *(f"{label}: {value}" for label, value in self.lines), *self.details]
        return "\n".join(body + ([f"Log: {self.link}"] if self.link else []))

    def html(self) -> str:
        rows = "".join(f"<tr><th align='left'>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>"
                       for label, value in self.lines)
        details = "".join(f"<li>{html.escape(line)}</li>" for line in self.details)
        link = f"<p><a href='{html.escape(self.link)}'>The task's log</a></p>" if self.link else ""
        return f"<p>{html.escape(self.subject)}</p><table>{rows}</table>" + (f"<ul>{details}</ul>" if details else "") + link


def recipients(environ=os.environ) -> list[str]:
    return [address.strip() for address in environ.get(ALERT_EMAILS_ENV, "").split(",") if address.strip()]


def _slack_configured() -> bool:
    """Whether the ``slack_alerts`` connection can be read here.

    A deadline callback (ecommerce.freshness) may read connections from environment variables
    only: Airflow's Execution API refuses it the others. Then Slack is skipped with a warning
    and the mail still goes.
    """
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException, AirflowSecretsBackendAccessDenied

    try:
        BaseHook.get_connection(SLACK_CONN_ID)
    except AirflowNotFoundException:
        return False
    except AirflowSecretsBackendAccessDenied as denied:
        log.warning("no Slack alert: the %s connection cannot be read here (%s); define it as "
                    "AIRFLOW_CONN_SLACK_ALERTS", SLACK_CONN_ID, denied)
        return False
    return True


def _raw(text: str) -> str:
    """Notifiers render their fields as Jinja templates: keep an error message's braces as they are."""
    return "{% raw %}" + text + "{% endraw %}"


def notifiers(alert: Alert) -> list[BaseNotifier]:
    """The notifiers this deployment has configured, each carrying ``alert``."""
    found: list[BaseNotifier] = []
    if to := recipients():
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        found.append(SmtpNotifier(to=to, from_email=os.environ.get(ALERT_FROM_ENV) or DEFAULT_FROM,
                                  subject=_raw(alert.subject), html_content=_raw(alert.html()),
                                  smtp_conn_id=SMTP_CONN_ID))
    if _slack_configured():
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

        found.append(SlackWebhookNotifier(slack_webhook_conn_id=SLACK_CONN_ID, text=_raw(alert.text())))
    return found


def send(alert: Alert, context) -> int:
    """Send ``alert`` through every configured notifier; return how many there were."""
    configured = notifiers(alert)
    if not configured:
        log.info("alerts are off (set %s and AIRFLOW_CONN_SMTP_DEFAULT, or a %s connection): %s",
                 ALERT_EMAILS_ENV, SLACK_CONN_ID, alert.subject)
    for notifier in configured:
        notifier(context)
    return len(configured)


def _first_line(error: BaseException | None) -> str:
    if error is None:
        return "unknown"
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def task_failure(context) -> Alert:
    ti = context["ti"]
    date = business_date_or_unknown(context)
    return Alert(
        subject=f"[ecommerce] FAILED {ti.dag_id}.{ti.task_id} for {date}",
        lines=(("DAG", ti.dag_id), ("Task", ti.task_id), ("Business date", date),
               ("Try", str(ti.try_number)), ("Error", _first_line(context.get("exception")))),
        link=getattr(ti, "log_url", None),
    )


def quality_warnings(context, business_date: str, results: Sequence) -> Alert:
    """The warn-status checks of a quality gate run, each with observed value and threshold."""
    from ecommerce.quality.engine import number

    ti = context["ti"]
    return Alert(
        subject=f"[ecommerce] {len(results)} quality warning(s) for {business_date}",
        lines=(("DAG", ti.dag_id), ("Task", ti.task_id), ("Business date", business_date), ("Try", str(ti.try_number))),
        details=tuple(f"{r.check.name} ({r.check.table}): observed {number(r.observed)}, "
                      f"threshold {number(r.check.threshold)}, {r.failing_rows:,} of {r.batch_rows:,} rows"
                      for r in results),
        link=getattr(ti, "log_url", None),
    )


class TaskFailureNotifier(BaseNotifier):
    """on_failure_callback: the final failure of a task (after its retries), as an alert."""

    def notify(self, context) -> None:
        send(task_failure(context), context)
