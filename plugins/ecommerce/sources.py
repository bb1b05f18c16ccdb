"""Where a business date's raw files come from: the generator, or a user's landing folder."""

from __future__ import annotations

import json
from datetime import date
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
