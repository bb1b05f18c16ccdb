"""`make airflow` as a service: two instances side by side on their own ports, and each stops
every process it started on SIGTERM or SIGHUP (as on Ctrl-C), leaving the other running.

Each instance is the real entry point (``python -m ecommerce.local.services``, what `make
airflow` runs) in its own session, as a terminal would start it, with its own AIRFLOW_HOME.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from ecommerce.local import environment

pytestmark = pytest.mark.e2e

from e2e.test_airflow_api_e2e import free_port  # noqa: E402


class Instance:
    def __init__(self, home, template_home=None):
        self.port, self.log_port = free_port(), free_port()
        # DAGs stay paused: this is about the services, not the pipeline.
        self.env = dict(os.environ, AIRFLOW_HOME=str(home), ECOMMERCE_DATA_DIR=str(home / "data"),
                        AIRFLOW_PORT=str(self.port), AIRFLOW_LOG_PORT=str(self.log_port),
                        AIRFLOW_ADMIN_PASSWORD="services-test", AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True")
        if template_home:  # a copy of a migrated metadata database no service has opened yet
            shutil.copytree(template_home, home, dirs_exist_ok=True)
        environment.migrate_metadata(home, self.env)
        self.home, self.process = home, None

    def start(self) -> None:
        """Start it as a terminal runs `make airflow`: in a session (process group) of its own."""
        self.output = (self.home / "make-airflow.log").open("w")
        self.process = subprocess.Popen([sys.executable, "-m", "ecommerce.local.services"], env=self.env,
                                        stdout=self.output, stderr=subprocess.STDOUT, start_new_session=True)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://localhost:{self.port}/api/v2/monitor/health", timeout=5) as reply:
                return reply.status == 200
        except OSError:
            return False

    def wait_until_up(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while not self.healthy():
            assert self.process.poll() is None, (self.home / "make-airflow.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "make airflow did not come up"
            time.sleep(2)

    def tree(self) -> list[psutil.Process]:
        parent = psutil.Process(self.process.pid)
        return [parent, *parent.children(recursive=True)]

    def listening_ports(self) -> set[int]:
        ports = set()
        for process in self.tree():
            try:
                ports |= {c.laddr.port for c in process.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN}
            except psutil.NoSuchProcess:
                continue
        return ports

    def signal_group(self, signum: int) -> list[psutil.Process]:
        """Send ``signum`` to the instance's process group, as a terminal or a service manager does."""
        started = self.tree()
        os.killpg(os.getpgid(self.process.pid), signum)
        return started

    def kill(self) -> None:
        if self.process is None:
            return
        for process in self.tree() if self.process.poll() is None else []:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
        self.output.close()


@pytest.fixture(scope="module")
def two_instances(tmp_path_factory):
    first = Instance(tmp_path_factory.mktemp("make-airflow-a"))
    second = Instance(tmp_path_factory.mktemp("make-airflow-b"), template_home=first.home)
    try:
        first.start()
        second.start()
        first.wait_until_up()
        second.wait_until_up()
        yield first, second
    finally:
        first.kill()
        second.kill()


def alive(processes: list[psutil.Process]) -> list[str]:
    return [" ".join(p.cmdline()[:3]) for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def wait_gone(processes: list[psutil.Process], timeout: float = 90) -> list[str]:
    deadline = time.monotonic() + timeout
    while (left := alive(processes)) and time.monotonic() < deadline:
        time.sleep(1)
    return left


def test_two_instances_run_side_by_side_each_on_its_own_ports(two_instances):
    first, second = two_instances
    assert first.healthy() and second.healthy()
    assert first.listening_ports() == {first.port, first.log_port}
    assert second.listening_ports() == {second.port, second.log_port}


def test_sigterm_stops_every_process_it_started_and_leaves_the_other_instance_running(two_instances):
    first, second = two_instances
    started = first.signal_group(signal.SIGTERM)
    assert len(started) >= 6  # make airflow, api-server, scheduler, dag-processor, triggerer, log server
    assert wait_gone(started) == []
    assert first.process.wait(timeout=30) == 0 and not first.healthy()
    assert second.healthy()


def test_sighup_stops_every_process_it_started(two_instances):
    _, second = two_instances
    started = second.signal_group(signal.SIGHUP)
    assert wait_gone(started) == []
    assert second.process.wait(timeout=30) == 0 and not second.healthy()
