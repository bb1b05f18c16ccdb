"""``make airflow``: Airflow's services on loopback against the local warehouse, as in Docker.

Starts the api-server (UI and REST API), scheduler, dag-processor and triggerer — the
components of docker-compose.yml — with the same FAB auth manager, and an admin user taken
from AIRFLOW_ADMIN_USER / AIRFLOW_ADMIN_PASSWORD (local defaults: admin / admin, with a
warning) so people and scripts can log in and call the REST API. Ctrl-C (SIGINT), SIGTERM and
SIGHUP (a closed terminal) stop them all: each runs in its own session, so a signal to this
process's group reaches only this process, which then stops every process group it started.
A component that exits starts again, as Docker's ``restart: always`` does (``supervise``).

The terminal stays quiet: each component's output goes to a log file of its own,
``$AIRFLOW_HOME/logs/services/<component>.log`` (appended to, a header line for every start;
``make airflow``: ``.local/airflow/logs/services/``). The terminal shows the start-up, the UI's
address, a component that exits and starts again (with its log file) and one line for every
DAG run that finishes: the supervisor asks the REST API every POLL_RUNS seconds for the runs
that ended since it last asked (``finished_runs``).

The tasks reach Airflow's execution API on a process of its own (AIRFLOW_EXECUTION_API_PORT,
8081), not through the api-server of the UI and the REST API. With the SQLite metadata database,
one api-server for both hung for the length of SQLite's lock wait (30 s): a REST or UI action
records itself in Airflow's audit log with a blocking write on the server's event loop; when a
task's request had just written (holding SQLite's only write lock) and waited for that loop to
commit, neither could go on. Two processes each have their own loop.

Nothing listens beyond this machine: the API on AIRFLOW_PORT (8080), the execution API on
AIRFLOW_EXECUTION_API_PORT (8081) and the task-log server on AIRFLOW_LOG_PORT (8793) bind
127.0.0.1. Airflow's own log servers in the scheduler and the triggerer bind every interface,
so they are off and one loopback log server serves both (the task logs live in the same
folder); task instances record ``localhost`` as their host, where the api-server fetches a
running task's log.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import NoReturn

from ecommerce_local.environment import DERIVED_BASE_URL_ENV, airflow_bin, local_base_url

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
DEFAULT_ADMIN_PASSWORD = "admin"
LOOPBACK = "127.0.0.1"
LOG_SERVER = "log-server"
EXECUTION_API = "execution-api"
#: seconds of running after which a component that exits starts again at once (Docker: 10 s)
RESTART_RESET = 30
#: the longest wait before a component that keeps exiting starts again (Docker: 1 min)
RESTART_DELAY_MAX = 60
#: seconds between two looks for finished DAG runs
POLL_RUNS = 10
#: A scheduler whose process lives but that has not heartbeat for this many seconds is stuck
#: and killed, so that it starts again (ECOMMERCE_SCHEDULER_STUCK_SECONDS). One was seen hanging
#: as it stopped after an error in its loop, waiting on an executor worker that had died:
#: alive, so never started again, and no run went on.
SCHEDULER_STUCK = 180


def loopback_hostname() -> str:
    """Airflow's ``hostname_callable`` here: the host where task logs are served."""
    return "localhost"


def admin_login(env: dict[str, str]) -> tuple[str, str]:
    """The admin's user name and password; a warning when the well-known default is in use."""
    user = env.get("AIRFLOW_ADMIN_USER") or "admin"
    password = env.get("AIRFLOW_ADMIN_PASSWORD") or DEFAULT_ADMIN_PASSWORD
    if password == DEFAULT_ADMIN_PASSWORD:
        print(f"WARNING: the Airflow user {user!r} has the default password {DEFAULT_ADMIN_PASSWORD!r}: anyone "
              "on this machine can log in and run tasks. Set AIRFLOW_ADMIN_PASSWORD in .env.",
              file=sys.stderr, flush=True)
    return user, password


def ensure_admin(env: dict[str, str], user: str, password: str) -> None:
    """Create the admin user, or set its password to the configured one (``ecommerce.admin_user``,
    as Docker's ``airflow-init`` does)."""
    made = subprocess.run([sys.executable, "-m", "ecommerce.admin_user"],
                          env=dict(env, AIRFLOW_ADMIN_USER=user, AIRFLOW_ADMIN_PASSWORD=password),
                          capture_output=True, text=True)
    if made.returncode != 0:
        raise SystemExit(f"the Airflow admin user could not be set up:\n{made.stderr.strip()}")


def service_env(env: dict[str, str], port: int, log_port: int = 8793, execution_port: int = 8081) -> dict[str, str]:
    """The components must agree on the API and log addresses and on the secrets that sign tokens."""
    env = dict(env)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["AIRFLOW__API__PORT"] = str(port)
    env.setdefault("AIRFLOW__API__HOST", LOOPBACK)  # loopback only, unless set otherwise
    env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(log_port)
    env["AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT"] = str(log_port)
    # by its module path: `make airflow` runs this file as __main__
    env["AIRFLOW__CORE__HOSTNAME_CALLABLE"] = "ecommerce_local.services.loopback_hostname"
    env["AIRFLOW_EXECUTION_API_PORT"] = str(execution_port)
    env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"http://localhost:{execution_port}/execution/"
    # [api] base_url: the FAB auth manager's login page and its redirects are on it. The user's own
    # is kept; one derived from AIRFLOW_PORT (environment.build) is derived again from the port
    # the API listens on, so no login lands on another port (8080, say, another Airflow's).
    base_url = env.get("AIRFLOW__API__BASE_URL")
    if not base_url or base_url == env.get(DERIVED_BASE_URL_ENV):
        env["AIRFLOW__API__BASE_URL"] = env[DERIVED_BASE_URL_ENV] = local_base_url(port)
    # One parsing process: two files parsed at once on a fresh SQLite metadata database both
    # insert the Asset they share, and the second insert kills the dag-processor.
    env.setdefault("AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES", "1")
    env.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_urlsafe(64))  # >= 64 bytes for HS512
    env.setdefault("AIRFLOW__API__SECRET_KEY", secrets.token_urlsafe(64))
    return env


def commands(env: dict[str, str], port: int) -> dict[str, list[str]]:
    """The command line of every component and of the loopback log server."""
    commands = {component: [airflow_bin(), component] for component in COMPONENTS}
    commands["api-server"] += ["--apps", "core", "--host", env["AIRFLOW__API__HOST"], "--port", str(port)]
    commands[EXECUTION_API] = [airflow_bin(), "api-server", "--apps", "execution", "--host", LOOPBACK,
                               "--port", env["AIRFLOW_EXECUTION_API_PORT"]]
    commands["scheduler"].append("--skip-serve-logs")
    commands["triggerer"].append("--skip-serve-logs")
    commands[LOG_SERVER] = [sys.executable, "-m", "uvicorn", "--factory", "airflow.utils.serve_logs.log_server:get_app",
                            "--host", LOOPBACK, "--port", env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"],
                            "--no-access-log"]
    return commands


def log_dir(env: dict[str, str]) -> Path:
    """The folder of the components' log files: ``$AIRFLOW_HOME/logs/services``."""
    return Path(env["AIRFLOW_HOME"]) / "logs" / "services"


def log_file(env: dict[str, str], component: str) -> Path:
    return log_dir(env) / f"{component}.log"


def log_tail(path: Path, lines: int = 25) -> str:
    """The last lines of a component's log file: why it exited, most often."""
    try:
        return "".join(path.read_text(errors="replace").splitlines(keepends=True)[-lines:])
    except OSError as error:
        return f"(unreadable: {error})\n"


def spawn(component: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """One component in a process group of its own, its output appended to its log file."""
    path = log_file(env, component)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as log:
        log.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S %Z')}: starting {' '.join(args)}\n")
        log.flush()
        return subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def start(args: dict[str, list[str]], env: dict[str, str], processes: dict[str, subprocess.Popen]) -> None:
    """Start every component of ``args`` (``commands``), each added to ``processes`` as it
    starts, so a signal halfway leaves nothing unaccounted for."""
    for component, command in args.items():
        processes[component] = spawn(component, command, env)


def answers(url: str) -> bool:
    """Whether ``url`` answers 200 within 5 s."""
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status == 200
    except OSError:
        return False


def stuck_seconds(env: dict[str, str]) -> float:
    """ECOMMERCE_SCHEDULER_STUCK_SECONDS, a positive number (default SCHEDULER_STUCK)."""
    given = (env.get("ECOMMERCE_SCHEDULER_STUCK_SECONDS") or "").strip()
    try:
        seconds = float(given) if given else SCHEDULER_STUCK
    except ValueError:
        seconds = 0
    if not seconds > 0:
        raise SystemExit(f"ECOMMERCE_SCHEDULER_STUCK_SECONDS must be a positive number of seconds, not {given!r}")
    return seconds


def scheduler_heartbeat(port: int | str) -> tuple[bool, datetime | None]:
    """Whether the API's health check answered, and the scheduler's latest heartbeat it gave
    (None: none yet)."""
    try:
        with urllib.request.urlopen(api_health_url(port), timeout=5) as reply:
            heartbeat = json.loads(reply.read())["scheduler"]["latest_scheduler_heartbeat"]
    except (OSError, ValueError, KeyError, TypeError):
        return False, None
    return True, datetime.fromisoformat(heartbeat) if heartbeat else None


def silent_for(heartbeat: datetime | None, since_start: float) -> float:
    """Seconds the scheduler has been silent: since its last heartbeat, or since it started
    when it has none (or an older one, of the process before)."""
    if heartbeat is None:
        return since_start
    return min(since_start, (datetime.now(timezone.utc) - heartbeat).total_seconds())


def api_health_url(port: int | str) -> str:
    """The API's health check (UI and REST): its own state and the scheduler's latest heartbeat."""
    return f"http://localhost:{port}/api/v2/monitor/health"


def health_urls(port: int | str, execution_port: int | str) -> list[str]:
    """The health checks of the API (UI and REST) and of the execution API."""
    return [api_health_url(port), f"http://localhost:{execution_port}/execution/health"]


class RunWatch:
    """The DAG runs that finished since the last look, through the REST API as the admin."""

    def __init__(self, port: int | str, user: str, password: str):
        self.base, self.login = f"http://localhost:{port}", {"username": user, "password": password}
        self.token: str | None = None
        self.since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.seen: set[tuple[str, str]] = set()

    def _get(self, path: str) -> dict:
        if self.token is None:
            request = urllib.request.Request(self.base + "/auth/token", data=json.dumps(self.login).encode(),
                                             headers={"Content-Type": "application/json"}, method="POST")
            with urllib.request.urlopen(request, timeout=10) as reply:
                self.token = json.loads(reply.read())["access_token"]
        request = urllib.request.Request(self.base + path, headers={"Authorization": f"Bearer {self.token}",
                                                                    "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                return json.loads(reply.read())
        except urllib.error.HTTPError as error:
            if error.code in (401, 403):
                self.token = None  # expired: a new one next time
            raise

    def finished_runs(self) -> list[dict]:
        """Runs that ended (success or failed) since the last call, oldest first; none when the
        API does not answer this time (they come the next time)."""
        query = urllib.parse.urlencode([("end_date_gte", self.since), ("state", "success"), ("state", "failed"),
                                        ("order_by", "end_date"), ("limit", "100")])
        try:
            runs = self._get(f"/api/v2/dags/~/dagRuns?{query}")["dag_runs"]
        except (OSError, ValueError, KeyError):
            return []
        new = [run for run in runs if (run["dag_id"], run["dag_run_id"]) not in self.seen]
        self.seen |= {(run["dag_id"], run["dag_run_id"]) for run in new}
        if runs:
            self.since = runs[-1]["end_date"]  # inclusive: ``seen`` keeps the ones ended at that instant
        return new


def run_line(run: dict) -> str:
    """One line for a finished run: DAG, run id, business date, state, duration."""
    note = run.get("note") or ""  # the scheduler's "business date …", unless the user wrote one
    business_date = ((run.get("conf") or {}).get("business_date")
                     or (note.removeprefix("business date ") if note.startswith("business date ") else ""))
    try:
        seconds = (datetime.fromisoformat(run["end_date"]) - datetime.fromisoformat(run["start_date"])).total_seconds()
        took = f"{int(seconds) // 60}m{int(seconds) % 60:02d}s"
    except (KeyError, TypeError, ValueError):
        took = "?"
    return (f"run {run['dag_id']} {run['dag_run_id']}"
            + (f" (business date {business_date})" if business_date else "") + f": {run['state']} in {took}")


def wait_until_up(env: dict[str, str], processes: dict[str, subprocess.Popen], timeout: float = 180) -> None:
    """Wait until the API and the execution API answer their health checks."""
    health = health_urls(env["AIRFLOW__API__PORT"], env["AIRFLOW_EXECUTION_API_PORT"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = [name for name, process in processes.items() if process.poll() is not None]
        if dead:
            said = "".join(f"\n---- the end of {log_file(env, name)}:\n{log_tail(log_file(env, name))}" for name in dead)
            raise RuntimeError(f"airflow {', '.join(dead)} exited while starting{said}")
        if all(answers(url) for url in health):
            return
        time.sleep(2)
    raise TimeoutError(f"the Airflow API did not answer ({' and '.join(health)}) within {timeout:.0f}s")


def kill_leftovers(process: subprocess.Popen) -> None:
    """SIGKILL what is left in the process group of a component: one that exited, as Docker
    kills what is left in a container whose main process exited, or one that did not stop."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def supervise(env: dict[str, str], args: dict[str, list[str]], processes: dict[str, subprocess.Popen],
              runs: RunWatch | None = None) -> NoReturn:
    """Start a component that exits again, as ``restart: always`` in docker-compose.yml does: at
    once after a run of RESTART_RESET seconds or more, else after a delay that doubles from 1 s
    to RESTART_DELAY_MAX. The scheduler exits on an error in its loop; e.g. on the SQLite
    metadata database, a backfill created in the UI while runs go on can delete a run the
    scheduler holds. A scheduler that lives but no longer heartbeats (``SCHEDULER_STUCK``) is
    killed, and so starts again. ``runs``: every DAG run that finishes gets a line. Returns
    never: a signal ends it."""
    started = dict.fromkeys(processes, time.monotonic())
    stuck_after = stuck_seconds(env)
    polled = 0.0  # they started before: a run counts from here
    delay: dict[str, float] = dict.fromkeys(processes, 0.0)
    due: dict[str, float] = {}  # component -> when it starts again
    while True:
        now = time.monotonic()
        for name, process in processes.items():
            if name in due or process.poll() is None:
                continue
            kill_leftovers(process)
            ran = now - started[name]
            delay[name] = 0.0 if ran >= RESTART_RESET else min(max(1.0, 2 * delay[name]), RESTART_DELAY_MAX)
            print(f"airflow {name} exited with code {process.returncode}; starting it again"
                  + (f" in {delay[name]:.0f} s" if delay[name] else "") + f" (its output: {log_file(env, name)})",
                  file=sys.stderr, flush=True)
            due[name] = now + delay[name]
        for name in [name for name, when in due.items() if when <= now]:
            processes[name], started[name] = spawn(name, args[name], env), now
            del due[name]
        if now - polled >= POLL_RUNS:
            polled = now
            for run in runs.finished_runs() if runs is not None else ():
                print(run_line(run), flush=True)
            scheduler = processes.get("scheduler")
            if scheduler is not None and "scheduler" not in due and scheduler.poll() is None:
                answered, heartbeat = scheduler_heartbeat(env["AIRFLOW__API__PORT"])
                silent = silent_for(heartbeat, now - started["scheduler"])
                if answered and silent >= stuck_after:  # (an API that does not answer tells nothing)
                    print(f"airflow scheduler has not heartbeat for {silent:.0f} s; killing it",
                          file=sys.stderr, flush=True)
                    kill_leftovers(scheduler)
        time.sleep(1)


def stop(processes: dict[str, subprocess.Popen]) -> None:
    for process in processes.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        else:  # e.g. the scheduler that exited while the services started: its workers live on
            kill_leftovers(process)
    for process in processes.values():
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            kill_leftovers(process)


class Stopped(Exception):
    """SIGTERM or SIGHUP arrived."""


def _raise_stopped(signum, frame) -> None:
    # make sends its child a SIGTERM of its own after the process group's: a second Stopped
    # raised while the first is handled would cut the stop short with a traceback.
    for other in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(other, signal.SIG_IGN)
    raise Stopped(signal.Signals(signum).name)


def main() -> int:
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_stopped)
    port = int(os.environ.get("AIRFLOW_PORT") or 8080)
    env = service_env(dict(os.environ), port, int(os.environ.get("AIRFLOW_LOG_PORT") or 8793),
                      int(os.environ.get("AIRFLOW_EXECUTION_API_PORT") or 8081))
    stuck_seconds(env)  # a bad setting stops it before anything starts
    user, password = admin_login(env)
    ensure_admin(env, user, password)
    processes: dict[str, subprocess.Popen] = {}
    args = commands(env, port)
    try:
        print(f"Starting Airflow ({', '.join(args)}); the output of each: {log_dir(env)}/<component>.log",
              flush=True)
        start(args, env, processes)
        wait_until_up(env, processes)
        print(f"Airflow UI and REST API: http://localhost:{port}  — log in as {user!r} with "
              f"AIRFLOW_ADMIN_PASSWORD (default 'admin'). Ctrl-C stops Airflow.\n"
              "Every DAG run that finishes gets a line here.", flush=True)
        supervise(env, args, processes, RunWatch(port, user, password))
    except (KeyboardInterrupt, Stopped):
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not cut the stop short
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        stop(processes)


if __name__ == "__main__":
    sys.exit(main())
