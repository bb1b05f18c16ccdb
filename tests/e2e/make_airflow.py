"""A `make airflow` instance for the e2e tests: the real entry point (``python -m
ecommerce_local.services``, what `make airflow` runs), or `make airflow` itself with that entry
point (``via_make``), in a session of its own, as a terminal would start it, with its own
AIRFLOW_HOME, data folder and free loopback ports. What it prints is what a terminal shows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil

from conftest import free_port
from ecommerce.settings import PROJECT_ROOT
from ecommerce_local import environment
from ecommerce_local.services import answers, health_urls


class Instance:
    def __init__(self, home, admin_password: str, **env: str):
        """Migrated, not started; ``env`` adds to the environment."""
        self.port, self.log_port, self.execution_port = free_port(), free_port(), free_port()
        self.env = dict(os.environ, AIRFLOW_HOME=str(home), ECOMMERCE_DATA_DIR=str(home / "data"),
                        AIRFLOW_PORT=str(self.port), AIRFLOW_LOG_PORT=str(self.log_port),
                        AIRFLOW_EXECUTION_API_PORT=str(self.execution_port),
                        AIRFLOW_ADMIN_PASSWORD=admin_password, **env)
        environment.migrate_metadata(home, self.env)
        self.home, self.process = home, None
        self.base = f"http://localhost:{self.port}"

    def start(self, via_make: bool = False) -> None:
        """Start it as a terminal runs `make airflow`: in a session (process group) of its own.
        ``via_make``: through the Makefile's recipe (its venv taken as it is, the environment
        over .env), with this instance's home instead of .local/airflow."""
        self.output = (self.home / "make-airflow.log").open("w")
        command = [sys.executable, "-m", "ecommerce_local.services"]
        if via_make:
            command = ["make", "-e", "--no-print-directory", "-C", str(PROJECT_ROOT), "-o", "install", "airflow",
                       f"AIRFLOW_SERVICES={' '.join(command)}"]
        self.process = subprocess.Popen(command, env=self.env, stdout=self.output, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def healthy(self) -> bool:
        """Whether the API and the execution API answer."""
        return all(answers(url) for url in health_urls(self.port, self.execution_port))

    def printed(self) -> str:
        """What `make airflow` printed: its terminal."""
        return (self.home / "make-airflow.log").read_text()

    def component_log(self, name: str) -> str:
        """What the component ``name`` printed, in its log file."""
        return (self.home / "logs" / "services" / f"{name}.log").read_text()

    def wait_until_up(self, timeout: float = 240) -> None:
        """Until it answers and says so: it watches its components from then on."""
        deadline = time.monotonic() + timeout
        while not (self.healthy() and "Airflow UI and REST API:" in self.printed()):
            assert self.process.poll() is None, self.printed()[-5000:]
            assert time.monotonic() < deadline, "make airflow did not come up"
            time.sleep(1)

    def supervisor(self) -> psutil.Process:
        """The process of ecommerce_local.services: make's child when started through make."""
        process = psutil.Process(self.process.pid)
        return next((child for child in process.children() if "ecommerce_local.services" in child.cmdline()),
                    process)

    def component(self, name: str) -> psutil.Process | None:
        """The running process of the component ``airflow <name>``, if there is one."""
        for child in self.supervisor().children():
            try:
                if child.status() != psutil.STATUS_ZOMBIE and name in child.cmdline():
                    return child
            except psutil.NoSuchProcess:
                continue
        return None

    def tree(self) -> list[psutil.Process]:
        parent = psutil.Process(self.process.pid)
        return [parent, *parent.children(recursive=True)]

    @property
    def ports(self) -> set[int]:
        return {self.port, self.execution_port, self.log_port}

    def listening(self) -> set[tuple[str, int]]:
        """(address, port) of every socket its processes listen on."""
        found = set()
        for process in self.tree():
            try:
                found |= {(c.laddr.ip, c.laddr.port) for c in process.net_connections(kind="inet")
                          if c.status == psutil.CONN_LISTEN}
            except psutil.NoSuchProcess:
                continue
        return found

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
