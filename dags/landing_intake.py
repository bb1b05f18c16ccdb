"""
# Landing intake

Starts `ecommerce_pipeline` for a date as soon as its files land, without waiting for the daily
schedule. Write the date's four CSVs into `<data root>/landing/<YYYY-MM-DD>/`, then an empty
`_READY` file beside them: the triggerer's watcher on the `ecommerce_landing` Asset consumes the
marker (a date runs once per marker) and this DAG runs for it:

1. **landed_dates** — the pipeline run of each landed folder named for a date;
2. **start_pipeline** — one `ecommerce_pipeline` run per date, run id `landing__<date>__<when>`,
   conf `{"business_date": <date>, "source": "landing", "landing_dir": …}`; it does not wait for
   the run, which reports for itself (a missing file fails its `generate.raw_files`);
3. **check_folder_names** — fails, naming the folder and the form expected, for a folder whose
   name is not a date (and for an event that names no folder).

Writing `_READY` again loads the date again. Unpause this DAG and `ecommerce_pipeline`: the
watcher runs only while this DAG is unpaused (markers written meanwhile wait for it), and the
pipeline's runs stay queued while it is paused.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import dag, task

from ecommerce.assets import LANDING_ASSET
from ecommerce.task_defaults import task_defaults


@dag(
    dag_id="landing_intake",
    schedule=[LANDING_ASSET],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    # its tasks read no table: they need no slot of the warehouse's pool
    default_args={**task_defaults(execution_timeout=timedelta(minutes=5), max_retry_delay=timedelta(minutes=2)),
                  "pool": "default_pool"},
    doc_md=__doc__,
    tags=["ecommerce", "landing"],
)
def landing_intake():
    @task
    def landed_dates(**context) -> list[dict]:
        """The ecommerce_pipeline run (trigger_run_id, conf) of each landed folder named for a date."""
        from ecommerce.sources import landed_runs

        runs, _ = landed_runs(context["triggering_asset_events"].get(LANDING_ASSET, []))
        for run in runs:
            print(f"{run['conf']['landing_dir']}/{run['conf']['business_date']} landed: run {run['trigger_run_id']}")
        return runs

    @task
    def check_folder_names(**context) -> None:
        """Fail, with the reason, for each landing event that names no folder named for a date."""
        from ecommerce.failures import ContractViolation, fail_fast
        from ecommerce.sources import landed_runs

        events = context["triggering_asset_events"].get(LANDING_ASSET, [])
        _, problems = landed_runs(events)
        with fail_fast():
            if not events:
                raise ContractViolation(
                    "this run has no landing event: landing_intake runs when a <YYYY-MM-DD>/_READY marker of the "
                    "landing folder is consumed; to load a landed date by hand, trigger ecommerce_pipeline with "
                    "source=landing and its business_date")
            if problems:
                raise ContractViolation("\n".join(problems))

    TriggerDagRunOperator.partial(
        task_id="start_pipeline", trigger_dag_id="ecommerce_pipeline", logical_date=None, wait_for_completion=False,
    ).expand_kwargs(landed_dates())
    check_folder_names()


landing_intake()
