"""``make run``: the pipeline for a range of business dates in order, then a summary."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from ecommerce.local import summary
from ecommerce.local.environment import airflow_bin


def business_dates(last: str, days: int, first: str = "") -> list[date]:
    """The dates from ``first`` (or the ``days`` dates) up to ``last``, oldest first.

    ``last`` defaults to yesterday, UTC: the latest complete business day.
    """
    end = date.fromisoformat(last) if last else datetime.now(timezone.utc).date() - timedelta(days=1)
    if first:
        days = (end - date.fromisoformat(first)).days + 1
    if days < 1:
        raise SystemExit(f"no business dates to run: {first or days} .. {end}")
    return [end - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def run(args, env: dict[str, str]) -> int:
    airflow = airflow_bin()
    dates = business_dates(args.date, args.days, args.start)
    started = time.perf_counter()
    for number, business_date in enumerate(dates, start=1):
        conf = {"business_date": business_date.isoformat(), "source": args.source}
        if args.landing:
            conf["landing_dir"] = str(Path(args.landing).resolve())
        if args.orders:
            conf["orders"] = args.orders
        # The logical date is the end of the business date's interval, as for a scheduled run.
        logical = (business_date + timedelta(days=1)).isoformat()
        print(f"==> [{number}/{len(dates)}] ecommerce_pipeline for business date {business_date}", flush=True)
        result = subprocess.run([airflow, "dags", "test", "ecommerce_pipeline", logical, "-c", json.dumps(conf)],
                                env=env)
        if result.returncode != 0:
            print(f"ecommerce_pipeline failed for {business_date}; see the task log above.", file=sys.stderr)
            return result.returncode
    # In a deployment the Asset update triggers it; here it runs once after the last date.
    print("==> refresh_dashboards", flush=True)
    result = subprocess.run([airflow, "dags", "test", "refresh_dashboards"], env=env)
    if result.returncode != 0:
        print("refresh_dashboards failed; see the task log above.", file=sys.stderr)
        return result.returncode
    print(f"\n{len(dates)} business date(s) processed in {time.perf_counter() - started:.0f}s\n")
    print(summary.render(env["AIRFLOW_CONN_ECOMMERCE_WAREHOUSE"], env["ECOMMERCE_DATA_DIR"]))
    return 0
