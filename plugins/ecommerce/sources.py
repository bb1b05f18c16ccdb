"""Where a business date's raw files come from: the generator, or a user's landing folder."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date, timezone
from pathlib import Path

from ecommerce.contract import RAW_COLUMNS, file_name
from ecommerce.failures import PERMANENT_ERRNOS, ContractViolation, SetupProblem
from ecommerce.settings import data_dir


class LandingFolderError(ContractViolation, FileNotFoundError):
    """The landing folder of a date is missing or lacks a raw file."""


def default_landing_dir() -> Path:
    return data_dir() / "landing"


def landing_folder(landing_dir: str | None, business_date: str) -> Path:
    """The landing folder of a date, after checking that every raw file is there."""
    folder = Path(landing_dir or default_landing_dir()) / business_date
    if not folder.is_dir():
        raise LandingFolderError(f"landing folder {folder} does not exist")
    missing = [file_name(t) for t in RAW_COLUMNS if not (folder / file_name(t)).is_file()]
    if missing:
        raise LandingFolderError(f"landing folder {folder} lacks {', '.join(missing)}")
    return folder


#: A landing folder's name: the business date whose files it holds.
DATE_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def folder_date(landing_dir: str, folder: str) -> str:
    """The business date a landing folder is named for; a ContractViolation naming the folder
    and the form expected when its name is not a date."""
    try:
        if DATE_FOLDER.match(folder):
            return date.fromisoformat(folder).isoformat()
    except ValueError:
        pass
    raise ContractViolation(
        f"landing folder {Path(landing_dir) / folder} is not named for a business date: name it YYYY-MM-DD "
        f"(e.g. 2026-03-14), the date its files hold, and write its _READY again")


def landed_runs(events: Iterable) -> tuple[list[dict], list[str]]:
    """What an intake run does with the landing events that started it (``triggering_asset_events``
    of the landing Asset, each with the ``extra`` and ``timestamp`` of an event of
    ``ecommerce.landing_trigger.LandingReadyTrigger``): the ``ecommerce_pipeline`` run of each
    folder named for a date (its ``trigger_run_id`` and ``conf``), and the reason for each other."""
    runs, problems = [], []
    for event in events:
        payload = (event.extra or {}).get("payload")
        if not isinstance(payload, dict) or not payload.get("folders") or not payload.get("landing_dir"):
            problems.append(f"a landing event of {event.timestamp.isoformat()} names no landing folder "
                            f"(its extra: {event.extra}): only a _READY marker's event starts a date")
            continue
        delivered = event.timestamp.astimezone(timezone.utc)
        for folder in payload["folders"]:
            try:
                business_date = folder_date(payload["landing_dir"], folder)
            except ContractViolation as error:
                problems.append(str(error))
                continue
            runs.append({
                "trigger_run_id": f"landing__{business_date}__{delivered:%Y-%m-%dT%H:%M:%S.%f}",
                "conf": {"business_date": business_date, "source": "landing", "landing_dir": payload["landing_dir"]},
            })
    return runs, problems


def generated_folder(business_date: str, **config) -> Path:
    """Generate the date's raw files under ``<data root>/raw`` and return their folder."""
    from ecommerce.generation.config import GeneratorConfig
    from ecommerce.generation.writer import generate_day

    out = data_dir() / "raw"
    try:
        settings = GeneratorConfig(**config)
        day = date.fromisoformat(business_date)
    except ValueError as error:
        raise ContractViolation(f"cannot generate {business_date}: {error}") from error
    try:
        generate_day(settings, day, out)
    except OSError as error:
        if error.errno not in PERMANENT_ERRNOS:
            raise
        raise SetupProblem(
            f"cannot write the raw files of {business_date} under {out}: {error.strerror} ({error.filename}). "
            f"Make the data folder writable for the user Airflow runs as, or set ECOMMERCE_DATA_DIR to a "
            f"writable folder.") from error
    return out / business_date


def generated_folder_recorded(context, conn_id: str, business_date: str, **config) -> Path:
    """``generated_folder``, recorded in ``audit.task_runs`` as every task that writes rows is:
    its seconds and the data lines its files hold (rows written)."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    from ecommerce import audit

    with PostgresHook(postgres_conn_id=conn_id).get_conn() as conn, conn.cursor() as cursor:
        with audit.task_run(cursor, context, business_date) as counts:
            folder = generated_folder(business_date, **config)
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            counts.written = sum(file["rows"] for file in manifest["files"].values())
    return folder
