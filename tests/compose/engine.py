"""A Docker engine for the compose test: the one that runs, or one started here and stopped again.

``make compose-test`` needs a Docker engine and ``docker-compose`` (v1, Debian's 1.29) or the
``docker compose`` plugin. When no engine answers, :func:`start` installs Debian's ``docker.io``
where it is missing and the user is root, starts ``dockerd`` by hand, and :meth:`Engine.stop`
stops it and puts back what dockerd changes on the host: the iptables rules and chains it added,
the policies it set (FORWARD DROP), ``net.ipv4.ip_forward`` and its bridges (``docker0``, and
``br-…`` of a network a project left behind). An engine that was already running is left as it
was.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

#: Debian's packages: the engine, compose v1, and what builds a base image without a registry.
PACKAGES = {"dockerd": "docker.io", "docker-compose": "docker-compose", "mmdebstrap": "mmdebstrap",
            "iptables-save": "iptables"}
IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")
IPTABLES_TABLES = ("filter", "nat")


class EngineUnavailable(RuntimeError):
    """No Docker engine answers and none could be started here."""


def docker(*args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
    """Run the Docker CLI; a failure raises with what it printed."""
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed ({result.returncode}):\n{result.stderr.strip()}")
    return result


def answers() -> bool:
    try:
        return docker("info", "--format", "{{.ServerVersion}}", timeout=20, check=False).returncode == 0
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False


def install_missing(commands: tuple[str, ...] = tuple(PACKAGES)) -> None:
    """Install Debian's packages for the commands this machine lacks (root with apt-get only)."""
    missing = sorted({PACKAGES[command] for command in commands if not shutil.which(command)
                      and not Path("/usr/sbin", command).exists()})
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise EngineUnavailable(f"missing {', '.join(missing)}: install them (Debian: apt-get install "
                                f"{' '.join(missing)}), or start a Docker engine and set DOCKER_HOST")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=300)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True,
                   env=env, timeout=600, stdout=subprocess.DEVNULL)


@dataclass
class NetworkState:
    """What dockerd changes on the host, read before it starts and put back after it stops."""

    iptables: dict[str, list[str]] = field(default_factory=dict)
    ip_forward: str = ""
    bridges: set[str] = field(default_factory=set)

    @classmethod
    def read(cls) -> NetworkState:
        return cls({table: iptables_rules(table) for table in IPTABLES_TABLES}, IP_FORWARD.read_text().strip(),
                   docker_bridges())

    def restore(self) -> list[str]:
        """Undo what was added since :meth:`read`; returns what it did, for the log."""
        done = []
        for table, before in self.iptables.items():
            after = iptables_rules(table)
            for rule in reversed([rule for rule in after if rule.startswith("-A ") and rule not in before]):
                subprocess.run(["iptables", "-t", table, "-D", *rule.split()[1:]], check=True)
                done.append(f"{table}: deleted {rule}")
            for chain in [rule.split()[1] for rule in after if rule.startswith("-N ") and rule not in before]:
                subprocess.run(["iptables", "-t", table, "-F", chain], check=True)
                subprocess.run(["iptables", "-t", table, "-X", chain], check=True)
                done.append(f"{table}: removed chain {chain}")
            for policy in [rule for rule in before if rule.startswith("-P ") and rule not in after]:
                subprocess.run(["iptables", "-t", table, *policy.split()], check=True)
                done.append(f"{table}: policy back to {policy}")
        if IP_FORWARD.read_text().strip() != self.ip_forward:
            IP_FORWARD.write_text(self.ip_forward + "\n")
            done.append(f"net.ipv4.ip_forward back to {self.ip_forward}")
        for bridge in sorted(docker_bridges() - self.bridges):
            subprocess.run(["ip", "link", "delete", bridge], check=True)
            done.append(f"removed the bridge {bridge}")
        return done


def iptables_rules(table: str) -> list[str]:
    return subprocess.run(["iptables", "-t", table, "-S"], capture_output=True, text=True,
                          check=True).stdout.splitlines()


def docker_bridges() -> set[str]:
    """docker0 and the bridges of compose networks (br-<network id>) that are on the host."""
    return {path.name for path in Path("/sys/class/net").iterdir() if path.name == "docker0"
            or path.name.startswith("br-")}


@dataclass
class Engine:
    """The Docker engine the test uses; ``process`` is set when this harness started it."""

    process: subprocess.Popen | None = None
    network: NetworkState | None = None

    @property
    def started_here(self) -> bool:
        return self.process is not None

    def stop(self) -> list[str]:
        """Stop a dockerd started here and restore the host's network state; else do nothing."""
        if self.process is None:
            return []
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        self.process = None
        if not self.network:
            return []
        done = self.network.restore()
        left = NetworkState.read()
        if left != self.network:
            raise RuntimeError(f"the host's network state differs from before dockerd started: "
                               f"before {self.network}, now {left}")
        return done


def start(state_dir: Path, dockerd: str = "dockerd", wait: float = 60) -> Engine:
    """The engine that answers, or a dockerd started here (logging to ``state_dir/dockerd.log``)."""
    install_missing()
    if answers():
        return Engine()
    if os.environ.get("DOCKER_HOST"):
        raise EngineUnavailable(f"no Docker engine answers at DOCKER_HOST={os.environ['DOCKER_HOST']}")
    if os.geteuid() != 0:
        raise EngineUnavailable("no Docker engine answers, and only root can start dockerd here: start one "
                                "(sudo dockerd, or your distribution's docker service) and run again")
    if not shutil.which(dockerd):
        raise EngineUnavailable(f"no Docker engine answers, and there is no {dockerd} to start")
    network = NetworkState.read()
    state_dir.mkdir(parents=True, exist_ok=True)
    log = state_dir / "dockerd.log"
    with log.open("ab") as output:
        process = subprocess.Popen([dockerd], stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    engine = Engine(process, network)
    deadline = time.monotonic() + wait
    while not answers():
        if process.poll() is not None or time.monotonic() > deadline:
            engine.stop()
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise EngineUnavailable(f"dockerd did not answer within {wait:.0f} s (exit code {process.returncode}); "
                                    f"the end of {log}:\n{tail}")
        time.sleep(0.5)
    return engine
