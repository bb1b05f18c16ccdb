"""The compose test's engine, images and projects (docs/operations.md, "Testing the deployment").

One Docker engine and one build of the images for the session; each test module brings up its
own compose project (LocalExecutor, then the Celery profile) and takes it down with its volumes.
A dockerd started here is stopped at the end and the host's network state put back.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from pathlib import Path

import pytest

import engine
import images
from stack import Api, Project, free_port

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".local" / "compose-test"
#: The image the test builds from the Dockerfile: never the tag a user's own stack uses.
IMAGE = "ecommerce-airflow:compose-test"
#: Every project this test makes is named so; leftovers of an interrupted session are found by it.
PREFIX = "ecommerce-ct-"


def log(message: str) -> None:
    print(f"[compose-test {time.strftime('%H:%M:%S')}] {message}", flush=True)


@pytest.fixture(scope="session")
def docker_engine():
    WORK.mkdir(parents=True, exist_ok=True)
    for stale in WORK.glob(f"{PREFIX}*.log"):  # a project's commands and their output, last session's
        stale.unlink()
    started = time.monotonic()
    running = engine.start(WORK)
    log(f"Docker engine: {'started dockerd' if running.started_here else 'the one running'} "
        f"({time.monotonic() - started:.1f} s)")
    try:
        remove_leftovers()
        yield running
    finally:
        for change in running.stop():
            log(f"restored: {change}")


#: How ``docker <kind> ls`` names each kind of object a compose project owns.
OBJECT_KEYS = {"container": ".ID", "volume": ".Name", "network": ".ID"}


def remove_leftovers() -> None:
    """Containers, volumes and networks of this test's own projects that an interrupted session
    left (compose labels them with the project name); nothing of any other project."""
    for kind, key in OBJECT_KEYS.items():
        listed = engine.docker(kind, "ls", *(["--all"] if kind == "container" else []), "--filter",
                               "label=com.docker.compose.project", "--format",
                               f'{{{{{key}}}}} {{{{.Label "com.docker.compose.project"}}}}').stdout.splitlines()
        leftovers = [line.split()[0] for line in listed if line.split()[-1].startswith(PREFIX)]
        if leftovers:
            engine.docker(kind, "rm", *(["--force"] if kind != "network" else []), *leftovers, timeout=300)
            log(f"removed {len(leftovers)} {kind}s left by an earlier compose test")


@pytest.fixture(scope="session")
def deployment_images(docker_engine) -> str:
    """The official images (pulled, or stand-ins) and the project's image built from its Dockerfile."""
    started = time.monotonic()
    for image, source in images.ensure(ROOT, WORK / "build.log").items():
        log(f"{image}: {source}")
    log(f"base images ready ({time.monotonic() - started:.0f} s)")
    started = time.monotonic()
    builder = new_project("build")
    try:
        builder.compose("build", "airflow-init", step="build the Dockerfile", timeout=1800)
    finally:
        shutil.rmtree(builder.directory)
    size = engine.docker("image", "inspect", "--format", "{{.Size}}", IMAGE).stdout.strip()
    log(f"{IMAGE} built in {time.monotonic() - started:.0f} s, {int(size) / 1e9:.2f} GB")
    return IMAGE


def new_project(kind: str, **overrides: str) -> Project:
    """A project named ``ecommerce-ct-<kind>-<random>`` in its own folder, with free ports."""
    name = f"{PREFIX}{kind}-{secrets.token_hex(3)}"
    airflow_port = free_port()
    settings = {
        "AIRFLOW_IMAGE_NAME": IMAGE,
        "AIRFLOW_UID": str(os.getuid()),
        "AIRFLOW_PORT": str(airflow_port),
        "AIRFLOW__API__BASE_URL": f"http://localhost:{airflow_port}",
        "WAREHOUSE_PORT": str(free_port()),
        "FLOWER_PORT": str(free_port()),
        "FLOWER_BASIC_AUTH": f"flower:{secrets.token_urlsafe(24)}",
        "BIND_ADDRESS": "127.0.0.1",
        # A task whose process died while its scheduler lives is retried after a minute, not five
        # (a dead scheduler's tasks: AIRFLOW_ORPHANED_TASKS_CHECK_INTERVAL, 60 s in .env.example).
        "AIRFLOW_TASK_HEARTBEAT_TIMEOUT": "60",
        **overrides,
    }
    return Project.create(ROOT, WORK / name, name, settings)


@pytest.fixture
def scratch_project():
    """Projects that are never started: their folders go when the test ends."""
    made = []

    def make(kind: str, **overrides: str) -> Project:
        made.append(new_project(kind, **overrides))
        return made[-1]

    yield make
    for project in made:
        project.compose("down", "--volumes", step="remove what the test ran", timeout=120, check=False)
        shutil.rmtree(project.directory, ignore_errors=True)


def api_of(project: Project) -> Api:
    env = project.env
    return Api(f"http://127.0.0.1:{env['AIRFLOW_PORT']}", env["AIRFLOW_ADMIN_USER"], env["AIRFLOW_ADMIN_PASSWORD"],
               project)


@pytest.fixture(scope="module")
def running_project(request, deployment_images):
    """A project of the module's kind (``EXECUTOR``, ``PROFILES``, ``SCALE`` in the module), up and healthy."""
    module = request.module
    project = new_project(module.KIND, AIRFLOW_EXECUTOR=module.EXECUTOR)
    project.profiles = module.PROFILES
    started = time.monotonic()
    try:
        project.up(scale=module.SCALE)
        log(f"{project.name}: up and healthy in {time.monotonic() - started:.0f} s")
        yield project
    finally:
        project.down(volumes=True)
        shutil.rmtree(project.directory, ignore_errors=True)
