"""Alerts through Airflow notifiers, against a real SMTP server and a real webhook endpoint on
loopback: one mail (and one Slack post) per failed task, one for a quality gate with warnings,
none for a clean run.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import date
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller

from conftest import free_port, reset_warehouse
from e2e.test_pipeline_e2e import load_dag, run_dag
from ecommerce.contract import file_name
from ecommerce.generation.config import GeneratorConfig
from ecommerce.generation.writer import generate_day

pytestmark = pytest.mark.e2e

BUSINESS_DATE = "2026-10-14"
RECIPIENTS = ["ops@example.com", "oncall@example.com"]
BASE_URL = "http://airflow.example.test:8080"


class Inbox:
    """An aiosmtpd handler that keeps every message it is sent."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


class Webhook(BaseHTTPRequestHandler):
    posts: list = []

    def do_POST(self):
        self.posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    webhook = HTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=webhook.serve_forever, daemon=True).start()
    patch = pytest.MonkeyPatch()
    patch.setenv("ECOMMERCE_DATA_DIR", str(tmp_path_factory.mktemp("alerts-data")))
    patch.setenv("ECOMMERCE_ALERT_EMAILS", ", ".join(RECIPIENTS))
    patch.setenv("AIRFLOW_CONN_SMTP_DEFAULT",
                 f"smtp://127.0.0.1:{smtp.port}?disable_tls=true&disable_ssl=true")
    patch.setenv("AIRFLOW_CONN_SLACK_ALERTS", json.dumps(
        {"conn_type": "slackwebhook", "password": f"http://127.0.0.1:{webhook.server_port}/hook"}))
    patch.setenv("AIRFLOW__API__BASE_URL", BASE_URL)
    reset_warehouse()
    try:
        yield inbox
    finally:
        patch.undo()
        smtp.stop()
        webhook.shutdown()


def received(inbox: Inbox, since: int) -> list:
    return inbox.messages[since:]


def subject(message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def body(message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/html")
    return part.get_payload(decode=True).decode()


def late_mail(inbox: Inbox, business_date: str, day_end: str) -> str:
    """The one freshness alert in ``inbox``, checked: to the recipient, naming the DAG, the date and
    how late it is; its HTML body."""
    [(rcpt_tos, message)] = inbox.messages
    assert rcpt_tos == ["ops@example.com"]
    assert re.fullmatch(rf"\[ecommerce\] NOT LOADED ecommerce_pipeline for {business_date} \(\d+ h \d\d min late\)",
                        subject(message))
    html = body(message)
    assert "<td>ecommerce_pipeline</td>" in html and f"<td>{business_date}</td>" in html
    assert f"after the date&#x27;s end ({day_end} 00:00 UTC)" in html
    return html


def landing_with_broken_files(tmp_path, broken: tuple[str, ...]):
    """A landing folder for the date whose ``broken`` files lack their header (a contract error)."""
    generate_day(GeneratorConfig(seed=3, orders=200, customers=500, products=60), date.fromisoformat(BUSINESS_DATE),
                 tmp_path)
    for table in broken:
        path = tmp_path / BUSINESS_DATE / file_name(table)
        path.write_text("\n".join(path.read_text().splitlines()[1:]) + "\n")
    return tmp_path


def test_a_failing_run_sends_one_mail_and_one_post_per_failed_task(servers, tmp_path):
    before_mail, before_posts = len(servers.messages), len(Webhook.posts)
    landing = landing_with_broken_files(tmp_path, ("customers", "products"))
    run = run_dag(load_dag(), BUSINESS_DATE, source="landing", landing_dir=str(landing))
    failed = sorted(ti.task_id for ti in run.get_task_instances() if ti.state == "failed")
    assert run.state == "failed" and failed == ["ingest_staging.customers", "ingest_staging.products"]

    mails = received(servers, before_mail)
    assert sorted(subject(m) for _, m in mails) == [
        f"[ecommerce] FAILED ecommerce_pipeline.{task} for {BUSINESS_DATE}" for task in failed]
    for rcpt_tos, message in mails:
        assert rcpt_tos == RECIPIENTS
        text = body(message)
        task = subject(message).split(".", 1)[1].split(" for ")[0]
        assert f"<td>{task}</td>" in text and f"<td>{BUSINESS_DATE}</td>" in text and "<td>1</td>" in text
        assert "ContractViolation" in text or "Error" in text
        assert f"{BASE_URL}/dags/ecommerce_pipeline/runs/" in text and f"/tasks/{task}" in text
    posts = Webhook.posts[before_posts:]
    assert len(posts) == len(failed) and all("FAILED ecommerce_pipeline.ingest_staging" in p["text"] for p in posts)


def test_a_clean_run_sends_nothing(servers):
    before_mail, before_posts = len(servers.messages), len(Webhook.posts)
    run = run_dag(load_dag(), BUSINESS_DATE, defect_rate=0.0)
    assert run.state == "success"
    assert received(servers, before_mail) == [] and Webhook.posts[before_posts:] == []


def test_a_quality_gate_with_warnings_sends_one_alert_listing_each_check(servers):
    before_mail = len(servers.messages)
    run = run_dag(load_dag(), BUSINESS_DATE, defect_rate=0.05)
    assert run.state == "success"
    mails = received(servers, before_mail)
    assert len(mails) == 1, [subject(m) for _, m in mails]
    message = mails[0][1]
    assert "quality warning(s) for " + BUSINESS_DATE in subject(message)
    text = body(message)
    assert "quality_checks.staging_gate" in text and "observed" in text and "threshold" in text
