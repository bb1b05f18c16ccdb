"""``make airflow``: Airflow's services on loopback against the local warehouse, as in Docker.

Starts the api-server (UI and REST API), scheduler, dag-processor and triggerer — the
components of docker-compose.yml — with the same FAB auth manager, and an admin user taken
from AIRFLOW_ADMIN_USER / AIRFLOW_ADMIN_PASSWORD (local defaults: admin / admin) so people and
scripts can log in and call the REST API. Ctrl-C stops them all.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ecommerce.local.environment import airflow_bin

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def ensure_admin(env: dict[str, str], user: str, password: str) -> None:
    """Create the admin user, or reset its password to the configured one."""
    created = subprocess.run(
        [airflow_bin(), "users", "create", "--role", "Admin", "--username", user, "--password", password,
         "--email", env.get("AIRFLOW_ADMIN_EMAIL") or "admin@example.com", "--firstname", "Admin", "--lastname", "User"],
        env=env, capture_output=True, text=True)
    if created.returncode != 0:
        subprocess.run([airflow_bin(), "users", "reset-password", "--username", user, "--password", password],
                       env=env, check=True, capture_output=True, text=True)


def service_env(env: dict[str, str], port: int) -> dict[str, str]:
    """The components must agree on the API address and on the secrets that sign tokens."""
    env = dict(env)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["AIRFLOW__API__PORT"] = str(port)
    env.setdefault("AIRFLOW__API__HOST", "127.0.0.1")  # loopback only, unless set otherwise
    env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"http://localhost:{port}/execution/"
    env.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_urlsafe(64))  # >= 64 bytes for HS512
    env.setdefault("AIRFLOW__API__SECRET_KEY", secrets.token_urlsafe(64))
    return env


def start(env: dict[str, str], port: int, log_dir: Path | None = None) -> list[subprocess.Popen]:
    """Start every component; their output goes to ``log_dir/<component>.log`` or the terminal."""
    processes = []
    for component in COMPONENTS:
        args = [airflow_bin(), component]
        if component == "api-server":
            args += ["--host", env["AIRFLOW__API__HOST"], "--port", str(port)]
        output = (log_dir / f"{component}.log").open("w") if log_dir else None
        processes.append(subprocess.Popen(args, env=env, stdout=output, stderr=subprocess.STDOUT,
                                          start_new_session=True))
    return processes


def wait_until_up(port: int, processes: list[subprocess.Popen], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = [p.args[1] for p in processes if p.poll() is not None]
        if dead:
            raise RuntimeError(f"airflow {', '.join(dead)} exited while starting")
        try:
            with urllib.request.urlopen(f"http://localhost:{port}/api/v2/monitor/health", timeout=5) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(2)
    raise TimeoutError(f"the Airflow API did not answer on port {port} within {timeout:.0f}s")


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def main() -> int:
    port = int(os.environ.get("AIRFLOW_PORT") or 8080)
    env = service_env(dict(os.environ), port)
    user = env.get("AIRFLOW_ADMIN_USER") or "admin"
    ensure_admin(env, user, env.get("AIRFLOW_ADMIN_PASSWORD") or "admin")
    processes = start(env, port)
    try:
        wait_until_up(port, processes)
        print(f"\nAirflow UI and REST API: http://localhost:{port}  — log in as {user!r} with "
              f"AIRFLOW_ADMIN_PASSWORD (default 'admin'). Ctrl-C stops Airflow.\n", flush=True)
        while all(p.poll() is None for p in processes):
            time.sleep(1)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop(processes)


if __name__ == "__main__":
    sys.exit(main())
