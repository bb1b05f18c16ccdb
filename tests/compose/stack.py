"""A compose project of the deployment, driven as a user drives it: docker-compose and the
published ports (the REST API, the warehouse, Flower), never a container's insides.

Each test session gets its own project name, its own copy of the repository's files (what a
clean clone holds, with the working tree's edits) and its own ``.env`` made from
``.env.example`` with new secrets and free ports, so it never meets a user's stack, their
``.env`` or their ``./data``. Every step has a time limit; a step that fails or runs over it
raises with what a person would look at next: the step's output, each container's state (with
the log tail of those that are not well), and for a failed DAG run the failed task's log.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

#: .env.example's empty secrets get a new value each; AIRFLOW_FERNET_KEY a Fernet key.
SECRET = re.compile(r"PASSWORD|SECRET|FERNET|_KEY$")
PORTS = {"AIRFLOW_PORT": "the UI and REST API", "WAREHOUSE_PORT": "the warehouse", "FLOWER_PORT": "Flower"}


class StepFailed(RuntimeError):
    """A step of the compose test failed; the message says which and shows what to read next."""


class StepTimedOut(StepFailed):
    """A step ran past its time limit."""


def compose_cli() -> list[str]:
    """``docker-compose`` (v1) where it is installed, else the ``docker compose`` plugin."""
    return ["docker-compose"] if shutil.which("docker-compose") else ["docker", "compose"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_taken(port: int) -> bool:
    """Whether a process listens on ``port`` (a closed connection's TIME_WAIT does not count)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def env_file_from_example(example: str, overrides: dict[str, str]) -> str:
    """``.env.example`` with every empty secret given a new value and ``overrides`` applied."""
    lines, seen = [], set()
    for line in example.splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            name, value = match.groups()
            seen.add(name)
            if name in overrides:
                value = overrides[name]
            elif not value and SECRET.search(name):
                value = fernet_key() if name == "AIRFLOW_FERNET_KEY" else secrets.token_urlsafe(48)
            line = f"{name}={value}"
        lines.append(line)
    lines += [f"{name}={value}" for name, value in overrides.items() if name not in seen]
    return "\n".join(lines) + "\n"


def copy_tree(root: Path, target: Path) -> None:
    """The files a clone of ``root`` holds, as they are in its working tree (no .env, no data)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = root / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


@dataclass
class Project:
    """One compose project: ``name`` (its containers, volumes and network), ``directory``."""

    name: str
    directory: Path
    profiles: tuple[str, ...] = ()
    log: Path | None = None

    @classmethod
    def create(cls, root: Path, directory: Path, name: str, overrides: dict[str, str]) -> Project:
        directory.mkdir(parents=True)
        copy_tree(root, directory)
        (directory / "data").mkdir()
        example = (directory / ".env.example").read_text()
        (directory / ".env").write_text(env_file_from_example(example, overrides))
        return cls(name, directory, log=directory.parent / f"{name}.log")

    @property
    def env(self) -> dict[str, str]:
        """The project's ``.env``, as docker-compose reads it."""
        pairs = re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", (self.directory / ".env").read_text(), re.M)
        return dict(pairs)

    def set_env(self, **values: str) -> None:
        text = (self.directory / ".env").read_text()
        for name, value in values.items():
            text, count = re.subn(rf"^{name}=.*$", f"{name}={value}", text, flags=re.M)
            if not count:
                text += f"{name}={value}\n"
        (self.directory / ".env").write_text(text)

    def compose(self, *args: str, step: str, timeout: float, check: bool = True) -> subprocess.CompletedProcess:
        """Run docker-compose in the project; ``step`` names it in a failure or a time-out."""
        profiles = [option for profile in self.profiles for option in ("--profile", profile)]
        command = [*compose_cli(), "--project-name", self.name, *profiles, *args]
        # Only the project's .env sets the deployment's variables, not this process's environment.
        env = {name: value for name, value in os.environ.items() if name not in self.env}
        started = time.monotonic()
        try:
            result = subprocess.run(command, cwd=self.directory, capture_output=True, text=True, timeout=timeout,
                                    env=env)
        except subprocess.TimeoutExpired as expired:
            output = (expired.stdout or b"").decode(errors="replace") + (expired.stderr or b"").decode(errors="replace")
            raise StepTimedOut(f"{step}: over its limit of {timeout:.0f} s\n{tail(output)}{self.status()}") from None
        self.record(f"$ {' '.join(command)}  ({time.monotonic() - started:.1f} s, exit {result.returncode})\n"
                    f"{result.stdout}{result.stderr}")
        if check and result.returncode != 0:
            raise StepFailed(f"{step}: docker-compose {' '.join(args)} exited {result.returncode}\n"
                             f"{tail(result.stdout + result.stderr)}{self.status()}")
        return result

    def record(self, text: str) -> None:
        if self.log:
            with self.log.open("a") as output:
                output.write(text + "\n")

    def status(self) -> str:
        """Each container's state and health, and the log tail of each one that is restarting,
        unhealthy or exited with an error, for a failure message (never raises)."""
        try:
            rows, logs = [], ""
            for container in self.containers():
                state = container["State"]
                service = container["Config"]["Labels"]["com.docker.compose.service"]
                health = state.get("Health", {}).get("Status", "-") if state["Status"] == "running" else "-"
                exit_code = f"exit {state['ExitCode']}" if state["Status"] == "exited" else ""
                rows.append(f"{service:<24} {state['Status']:<11} {health:<10} {exit_code}".rstrip())
                if state["Restarting"] or health == "unhealthy" or exit_code not in ("", "exit 0"):
                    output = subprocess.run(["docker", "logs", "--tail", "20", container["Id"]], capture_output=True,
                                            text=True, timeout=60)
                    logs += f"\n--- {container['Name'].lstrip('/')} ---\n{tail(output.stdout + output.stderr, 20)}"
            return "\n--- containers ---\n" + "\n".join(sorted(rows)) + logs
        except (OSError, subprocess.SubprocessError, StepFailed) as error:
            return f"\n(the containers' state could not be read: {error})"

    def preflight(self) -> None:
        """What stops ``up`` before it starts, said plainly: a missing secret, a port taken."""
        result = self.compose("config", "--quiet", step="check docker-compose.yml and .env", timeout=60, check=False)
        if result.returncode != 0:
            # compose quotes the unresolved settings before its message: the last one is the error.
            missing = re.findall(r"set ([A-Z][A-Z0-9_]*)(?: \([^)]*\))? in \.env", result.stderr)
            if missing:
                raise StepFailed(f".env lacks {missing[-1]}: set it (see .env.example)")
            raise StepFailed(f"docker-compose.yml does not load with this .env:\n{tail(result.stderr)}")
        env = self.env
        for name, what in PORTS.items():
            if name == "FLOWER_PORT" and "celery" not in self.profiles:
                continue
            port = int(env.get(name) or 0)
            if port and port_taken(port):
                raise StepFailed(f"port {port} ({name}, {what}) is taken by another process on this machine: "
                                 f"set {name} in .env to a free port")

    def up(self, *services: str, scale: dict[str, int] | None = None, timeout: float = 900) -> None:
        """Start the services and wait until each is healthy (``up`` returns before that)."""
        self.preflight()
        options = [f"--scale={name}={count}" for name, count in (scale or {}).items()]
        self.compose("up", "--detach", "--no-build", *options, *services, step="docker-compose up", timeout=timeout)
        self.wait_healthy(timeout)

    def containers(self) -> list[dict]:
        ids = self.compose("ps", "-q", step="list containers", timeout=60).stdout.split()
        if not ids:
            return []
        result = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True, timeout=60, check=True)
        return json.loads(result.stdout)

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            waiting = []
            for container in self.containers():
                state, service = container["State"], container["Config"]["Labels"]["com.docker.compose.service"]
                health = state.get("Health", {}).get("Status")
                if service == "airflow-init":
                    if state["Status"] == "exited" and state["ExitCode"] != 0:  # status() shows its log
                        raise StepFailed(f"airflow-init exited {state['ExitCode']}{self.status()}")
                elif health != "healthy":
                    waiting.append(f"{container['Name'].lstrip('/')} ({health or state['Status']})")
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise StepTimedOut(f"services not healthy after {timeout:.0f} s: {', '.join(waiting)}{self.status()}")
            time.sleep(3)

    def down(self, volumes: bool = False, timeout: float = 300) -> None:
        self.compose("down", "--remove-orphans", *(["--volumes"] if volumes else []), step="docker-compose down",
                     timeout=timeout)


@dataclass
class Api:
    """The REST API on the published port, with a token for the ``.env`` admin."""

    base: str
    username: str
    password: str
    project: Project | None = None
    token: str = field(default="", repr=False)

    def request(self, method: str, path: str, body: dict | None = None, *, auth: bool = True,
                timeout: float = 60) -> dict:
        if auth and not self.token:
            self.token = self.request("POST", "/auth/token", {"username": self.username, "password": self.password},
                                      auth=False)["access_token"]
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                content = response.read()
        except urllib.error.HTTPError as error:
            raise StepFailed(f"{method} {path}: HTTP {error.code}: {error.read().decode(errors='replace')[:2000]}") \
                from None
        return json.loads(content) if content else {}

    def trigger(self, dag_id: str, conf: dict, logical_date: str | None = None) -> str:
        run = self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": logical_date, "conf": conf})
        return run["dag_run_id"]

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": paused})

    def runs(self, dag_id: str) -> list[dict]:
        return self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns?limit=100&order_by=-start_date")["dag_runs"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        quoted = urllib.parse.quote(run_id, safe="")
        return self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{quoted}/taskInstances?limit=1000")[
            "task_instances"]

    def log(self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> str:
        quoted = urllib.parse.quote(run_id, safe="")
        answer = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{quoted}/taskInstances/{task_id}/logs/"
                                     f"{try_number}?full_content=true&map_index={map_index}")
        content = answer.get("content", "")
        if isinstance(content, list):  # structured log lines
            return "\n".join(line.get("event", "") if isinstance(line, dict) else str(line) for line in content)
        return str(content)

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float) -> dict:
        """The run once it succeeded; a failed run raises with its failed tasks' log tails."""
        quoted = urllib.parse.quote(run_id, safe="")
        deadline = time.monotonic() + timeout
        while True:
            run = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{quoted}")
            if run["state"] == "success":
                return run
            if run["state"] == "failed":
                raise StepFailed(f"run {run_id} of {dag_id} failed{self.failure_report(dag_id, run_id)}")
            if time.monotonic() > deadline:
                raise StepTimedOut(f"run {run_id} of {dag_id} still {run['state']} after {timeout:.0f} s"
                                   f"{self.failure_report(dag_id, run_id)}")
            time.sleep(3)

    def failure_report(self, dag_id: str, run_id: str) -> str:
        """The failed (or unfinished) tasks with their log tails, and the containers' state."""
        parts = []
        instances = self.task_instances(dag_id, run_id)
        for instance in instances:
            if instance["state"] in ("failed", "upstream_failed", "up_for_retry"):
                parts.append(f"--- {instance['task_id']}: {instance['state']} (try {instance['try_number']}) ---")
                if instance["state"] != "upstream_failed" and instance["try_number"]:
                    log = self.log(dag_id, run_id, instance["task_id"], instance["try_number"], instance["map_index"])
                    parts.append(tail(log, 25))
        unfinished = sorted(i["task_id"] for i in instances if i["state"] not in ("success", "skipped", "failed",
                                                                                   "upstream_failed"))
        if unfinished:
            parts.append(f"not finished: {', '.join(unfinished)}")
        return "\n" + "\n".join(parts) + (self.project.status() if self.project else "")
