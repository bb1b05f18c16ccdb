"""Names and locations every part of the pipeline agrees on.

Nothing here touches a database or the file system at import time: DAG files import it.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The one Airflow connection id of the warehouse; set it with AIRFLOW_CONN_ECOMMERCE_WAREHOUSE.
WAREHOUSE_CONN_ID = "ecommerce_warehouse"
#: The Airflow pool that caps concurrent tasks against the warehouse (created by airflow-init
#: in Docker and by the local set-up).
WAREHOUSE_POOL = "ecommerce_warehouse"
WAREHOUSE_POOL_SLOTS = 4
#: How many runs of ecommerce_pipeline may load side by side (its max_active_runs; make run's
#: lanes): models of two dates that touch a table one of them writes take turns (ecommerce.table_locks).
MAX_ACTIVE_RUNS = 2

#: The repository (or, in Docker, /opt/airflow): ``plugins/ecommerce/settings.py`` -> two up.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
INCLUDE_DIR = PROJECT_ROOT / "include"
SQL_DIR = INCLUDE_DIR / "sql"
QUALITY_DIR = INCLUDE_DIR / "quality"


def data_dir() -> Path:
    """Root of generated and landed data: ``raw/``, ``landing/``, ``dashboards/`` live under it."""
    return Path(os.environ.get("ECOMMERCE_DATA_DIR") or PROJECT_ROOT / "data").resolve()


def raw_dir(business_date: str) -> Path:
    """Folder of one business date's raw files, in the raw file contract."""
    return data_dir() / "raw" / business_date


def available_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
