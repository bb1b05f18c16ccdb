"""The DAG folder parses cleanly, touches no database while parsing, and has the expected shape."""

from __future__ import annotations

from datetime import timedelta
from itertools import combinations
from unittest import mock

import pytest

from ecommerce.settings import PROJECT_ROOT

DAGS_FOLDER = PROJECT_ROOT / "dags"

#: The DAG's spine: each group starts when the one before it is done. Inside a group, the order
#: of the SQL models and the forecast comes from what their SQL reads and writes (the tests below).
GROUPS = ("bootstrap_schema", "claim_business_date", "generate", "ingest_staging", "quality_checks", "production",
          "warehouse", "analytics")

#: Tables that SQL models running side by side both write, each its own part of them.
WRITTEN_IN_PARTS = {
    "quarantine.rejected_rows": "each model the rows of its source_table",
    "audit.duplicates_collapsed": "each model the rows of its table_name",
    "production.changed_keys": "each snapshot model adds its table_name's keys, each dimension takes its own",
    "warehouse.fact_sales": "each dimension re-points its own surrogate key column",
    "warehouse.stale_dates": "a set of (model, date): added with on conflict do nothing, each model takes its own",
}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


@pytest.fixture(scope="module")
def pipeline(dagbag):
    return dagbag.get_dag("ecommerce_pipeline")


def test_dagbag_has_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "ecommerce_pipeline" in dagbag.dag_ids


def test_parsing_opens_no_connection_and_queries_no_database():
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import BaseHook

    with mock.patch.object(BaseHook, "get_connection") as get_connection, \
            mock.patch("psycopg.connect") as pg_connect, mock.patch("psycopg2.connect") as pg2_connect:
        bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert bag.import_errors == {}
    assert bag.get_dag("ecommerce_pipeline") is not None
    assert get_connection.call_count == 0
    assert pg_connect.call_count == 0
    assert pg2_connect.call_count == 0


def test_parsing_imports_no_numpy_statsmodels_or_faker():
    """Every task parses the DAG file again: the libraries a task needs are imported when it runs."""
    import subprocess
    import sys

    probe = ("import sys; from airflow.dag_processing.dagbag import DagBag; "
             f"bag = DagBag(dag_folder={str(DAGS_FOLDER)!r}); assert not bag.import_errors, bag.import_errors; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'statsmodels', 'faker', 'pandas'}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def group_of(task_id: str) -> str:
    return task_id.split(".", 1)[0]


def test_the_groups_run_in_turn(pipeline):
    """A group's first tasks wait for every last task of the group before it, and for nothing
    else outside their group; nothing skips a group."""
    tasks = {task.task_id: task for task in pipeline.tasks}
    assert [g for g in GROUPS if any(group_of(t) == g for t in tasks)] == list(GROUPS)
    assert {group_of(task_id) for task_id in tasks} == set(GROUPS)
    for before, group in zip(GROUPS, GROUPS[1:]):
        last = {t for t, task in tasks.items() if group_of(t) == before
                and not any(group_of(d) == before for d in task.downstream_task_ids)}
        for task_id, task in tasks.items():
            if group_of(task_id) != group:
                continue
            outside = {u for u in task.upstream_task_ids if group_of(u) != group}
            inside = {u for u in task.upstream_task_ids if group_of(u) == group}
            assert outside == (set() if inside else last), task_id


def test_the_dashboards_are_published_after_every_analytics_task(pipeline):
    publish = pipeline.get_task("analytics.publish_insights")
    analytics = {task.task_id for task in pipeline.tasks if group_of(task.task_id) == "analytics"}
    assert publish.get_flat_relative_ids(upstream=True) >= analytics - {publish.task_id}
    assert not publish.downstream_task_ids


@pytest.mark.parametrize("layer", ["production", "warehouse", "analytics"])
def test_each_layer_is_checked_before_what_follows_it(pipeline, layer):
    """A layer's quality gate runs after every model of the layer (but loaded_dates, which waits
    for it: a date counts as loaded once checked), before the next layer or the dashboards."""
    from ecommerce.models import home_checks, homes

    gate = pipeline.get_task(f"{layer}.quality_gate")
    layer_tasks = {task.task_id for task in pipeline.tasks if group_of(task.task_id) == layer} - {gate.task_id}
    after = {"warehouse": {"warehouse.loaded_dates"}, "analytics": {"analytics.publish_insights"}}.get(layer, set())
    assert gate.get_flat_relative_ids(upstream=True) >= layer_tasks - after
    assert set(gate.downstream_task_ids) == after or group_of(next(iter(gate.downstream_task_ids))) != layer
    assert gate.layer == layer
    if layer == "analytics":
        assert {check["table"] for check in home_checks(layer)} == {m.table for m in homes(layer) if m.checks}
        assert len(home_checks(layer)) >= 10


def model_lineage(pipeline):
    """What each SQL model and the forecast reads and writes: the tables their SQL names
    (openlineage-sql), those a written table has an enforced foreign key to, and the tables the
    model homes say a Python task writes."""
    from conftest import connect
    from ecommerce.lineage import parse_sql
    from ecommerce.models import all_homes, model_statements
    from ecommerce.operators import SqlModelOperator
    from ecommerce.schema import apply_schema

    with connect(autocommit=True) as conn:
        apply_schema(conn)
        references = conn.execute(
            "select conrelid::regclass::text, confrelid::regclass::text from pg_constraint "
            "where contype = 'f' and conenforced and conparentid = 0").fetchall()
    writes, reads = {}, {}
    for task in pipeline.tasks:
        if isinstance(task, SqlModelOperator):
            lineage = parse_sql(model_statements(task.model))
            writes[task.task_id] = lineage.outputs
            reads[task.task_id] = lineage.inputs | {target for table, target in references if table in lineage.outputs}
    for model in all_homes():
        if model.materialized == "python":
            task_id = f"{model.table.split('.')[0]}.{model.written_by}"
            writes.setdefault(task_id, set()).add(model.table)
            reads.setdefault(task_id, set())
    return writes, reads


def shared_tables(writes, reads, first, second) -> set[str]:
    """The tables one of two models writes and the other reads or writes."""
    return (writes[first] & (reads[second] | writes[second])) | (writes[second] & reads[first])


def test_every_edge_between_models_is_one_their_sql_needs(pipeline):
    """The graph has no order the data does not ask for: a model waits for another of its layer
    only where one writes a table the other reads or writes (the quality gates aside)."""
    writes, reads = model_lineage(pipeline)
    needless = [(upstream, task_id) for task_id in writes for upstream in pipeline.get_task(task_id).upstream_task_ids
                if upstream in writes and group_of(upstream) == group_of(task_id)
                and not shared_tables(writes, reads, upstream, task_id)]
    assert needless == []
    assert ("analytics.forecast", "analytics.insights") in [
        (u, t) for t in writes for u in pipeline.get_task(t).upstream_task_ids]


def test_sql_models_side_by_side_touch_no_table_the_other_writes(pipeline):
    """Two models with no path between them in the DAG may run in either order, or at once:
    neither writes a table the other reads or writes, but for the tables each writes its own
    part of."""
    writes, reads = model_lineage(pipeline)
    after = {task_id: pipeline.get_task(task_id).get_flat_relative_ids(upstream=False) for task_id in writes}
    side_by_side, conflicts = [], {}
    for first, second in combinations(sorted(writes), 2):
        if second in after[first] or first in after[second]:
            continue
        side_by_side.append((first, second))
        if shared := shared_tables(writes, reads, first, second) - WRITTEN_IN_PARTS.keys():
            conflicts[(first, second)] = sorted(shared)
    assert conflicts == {}
    assert ("warehouse.dim_customers", "warehouse.dim_products") in side_by_side
    assert ("analytics.forecast", "analytics.rfm_segments") in side_by_side


@pytest.mark.parametrize("dag_id", ["ecommerce_pipeline", "refresh_dashboards", "landing_intake"])
def test_every_task_retries_with_backoff_and_has_a_timeout(dagbag, dag_id):
    for task in dagbag.get_dag(dag_id).tasks:
        assert task.retries >= 2, task.task_id
        assert task.retry_exponential_backoff, task.task_id
        assert task.max_retry_delay is not None and task.max_retry_delay <= timedelta(hours=1), task.task_id
        assert task.execution_timeout is not None, task.task_id
        assert task.on_failure_callback, task.task_id
        # the failure line on every failed try, an alert on the last
        assert "log_task_failure" in repr(task.on_retry_callback), task.task_id
        assert any(type(c).__name__ == "TaskFailureNotifier" for c in task.on_failure_callback), task.task_id
        assert task.owner == "data-engineering"


def test_dashboards_refresh_on_the_analytics_asset(dagbag, pipeline):
    from ecommerce.assets import ANALYTICS_ASSET

    refresh = dagbag.get_dag("refresh_dashboards")
    assert list(refresh.schedule) == [ANALYTICS_ASSET]
    assert [o for o in pipeline.get_task("analytics.publish_insights").outlets] == [ANALYTICS_ASSET]
    assert {t.task_id for t in refresh.tasks} == {"render_html", "export_tableau_extract"}


def test_landing_intake_runs_on_the_landing_markers_and_starts_a_landing_run_per_date(dagbag):
    """The watcher of the landing Asset (ecommerce.landing_trigger) starts the intake; each
    landed date becomes a run of ecommerce_pipeline, which it does not wait for."""
    from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

    from ecommerce.assets import LANDING_ASSET
    from ecommerce.landing_trigger import LandingReadyTrigger

    intake = dagbag.get_dag("landing_intake")
    assert list(intake.schedule) == [LANDING_ASSET]
    assert [type(w.trigger) for w in LANDING_ASSET.watchers] == [LandingReadyTrigger]
    assert {t.task_id: set(t.upstream_task_ids) for t in intake.tasks} == {
        "landed_dates": set(), "start_pipeline": {"landed_dates"}, "check_folder_names": set()}
    start = intake.get_task("start_pipeline")
    assert start.operator_class is TriggerDagRunOperator
    kwargs = start.partial_kwargs
    assert (kwargs["trigger_dag_id"], kwargs["logical_date"], kwargs["wait_for_completion"]) == (
        "ecommerce_pipeline", None, False)
    assert kwargs["trigger_dag_id"] in dagbag.dag_ids
    assert all(task.pool == "default_pool" for task in intake.tasks)  # no warehouse slot for reading no table


def test_the_landing_intake_fails_naming_a_malformed_folder_and_a_run_without_a_landing_event(dagbag):
    from datetime import datetime, timezone
    from types import SimpleNamespace

    from airflow.sdk.exceptions import AirflowFailException

    from ecommerce.assets import LANDING_ASSET

    check = dagbag.get_dag("landing_intake").get_task("check_folder_names").python_callable
    at = datetime(2026, 3, 15, tzinfo=timezone.utc)
    good = SimpleNamespace(extra={"payload": {"folders": ["2026-03-14"], "landing_dir": "/l"}}, timestamp=at)
    bad = SimpleNamespace(extra={"payload": {"folders": ["14-03-2026"], "landing_dir": "/l"}}, timestamp=at)
    check(triggering_asset_events={LANDING_ASSET: [good]})
    with pytest.raises(AirflowFailException, match="^landing folder /l/14-03-2026 is not named for a business "
                                                   "date: name it YYYY-MM-DD"):
        check(triggering_asset_events={LANDING_ASSET: [good, bad]})
    with pytest.raises(AirflowFailException, match="^this run has no landing event"):
        check(triggering_asset_events={})


def test_schedule_is_daily_data_intervals_in_utc(pipeline):
    from airflow.sdk import CronDataIntervalTimetable

    assert isinstance(pipeline.timetable, CronDataIntervalTimetable)
    assert pipeline.timetable.expression == "0 0 * * *"
    assert str(pipeline.timetable.timezone) == "UTC"
    assert pipeline.catchup is False
    assert pipeline.max_active_runs == 2  # two dates at once; the history steps take turns
    assert pipeline.doc_md and "business date" in pipeline.doc_md
    assert "ecommerce" in pipeline.tags


@pytest.mark.parametrize("value", ["2026-11-20", None])
def test_business_date_param_accepts_a_date_or_nothing(pipeline, value):
    from airflow.sdk import Param

    param: Param = pipeline.params.get_param("business_date")
    assert param.resolve(value) == value


@pytest.mark.parametrize("value", ["20-11-2026", "2026/11/20", "yesterday", "2026-11-20; drop"])
def test_business_date_param_rejects_anything_else(pipeline, value):
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError):
        pipeline.params.get_param("business_date").resolve(value)


@pytest.mark.parametrize("value", [0, 2_000_001, 10**9])
def test_orders_param_is_bounded(pipeline, value):
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError):
        pipeline.params.get_param("orders").resolve(value)


def test_params_keep_their_json_schema_draft_through_serialization(pipeline):
    """Each param's schema names draft 7 (cheaper to check on every read, ecommerce.params), in
    the serialized DAG the scheduler and the API server read too."""
    from airflow.serialization.serialized_objects import DagSerialization

    from ecommerce.params import DRAFT_7

    serialized = DagSerialization.from_dict(DagSerialization.to_dict(pipeline))
    assert sorted(serialized.params) == sorted(pipeline.params)
    for name in pipeline.params:
        assert serialized.params.get_param(name).schema["$schema"] == DRAFT_7


def test_each_bounded_param_states_its_range_and_is_refused_not_clamped_by_the_form(pipeline):
    """The trigger form sets a number out of a top-level minimum/maximum to the bound without a
    word (ecommerce.params): the bounds are under allOf, where they still refuse a value, and
    the description states them as the serialized schema holds them (no copy kept by hand)."""
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.sdk.exceptions import ParamValidationError

    from ecommerce.params import DATE_FORMAT_NOTE, bounds

    serialized = DagSerialization.from_dict(DagSerialization.to_dict(pipeline))
    bounded = {}
    for name in pipeline.params:
        param = serialized.params.get_param(name)
        assert "minimum" not in param.schema and "maximum" not in param.schema, name  # what the form clamps to
        low, high = bounds(param.schema)
        if low is not None or high is not None:
            bounded[name] = (low, high)
            assert f"from {low:,} to {high:,};" in param.description and "refused" in param.description, name
            for outside in (low - 1, high * 2):
                with pytest.raises(ParamValidationError, match=f"less than the minimum of {low}|"
                                                               f"greater than the maximum of {high}"):
                    pipeline.params.get_param(name).resolve(outside)
    assert set(bounded) == {"orders", "defect_rate"}
    date = serialized.params.get_param("business_date")
    assert date.schema["format"] == "date" and DATE_FORMAT_NOTE in date.description
    assert "mm/dd/yyyy" in DATE_FORMAT_NOTE and "YYYY-MM-DD" in DATE_FORMAT_NOTE


def test_failure_callback_logs_one_clear_line(caplog):
    from types import SimpleNamespace

    from ecommerce.callbacks import log_task_failure

    ti = SimpleNamespace(dag_id="ecommerce_pipeline", task_id="production.customers", try_number=2)
    log_task_failure({"ti": ti, "params": {"business_date": "2026-11-20"}, "exception": ValueError("boom")})
    records = [r.getMessage() for r in caplog.records if r.name == "ecommerce.failures"]
    # outside Airflow's collapsed "Post Execute" group, which is opened again after it
    assert records[:2] == ["::endgroup::", "::endgroup::"] and records[3] == "::group::Post Execute"
    record = [r for r in caplog.records if r.name == "ecommerce.failures"][2]
    assert record.getMessage() == (
        "TASK FAILED dag=ecommerce_pipeline task=production.customers business_date=2026-11-20 "
        "try=2 error=ValueError: boom"
    )


def test_each_sql_model_renders_its_file_for_the_rendered_templates_tab(pipeline):
    """Airflow renders the model file (macros included) into the task's ``sql`` field: the UI's
    Rendered Templates tab shows the SQL the task runs, and the task runs that text."""
    from ecommerce.models import model_statements
    from ecommerce.operators import SqlModelOperator

    models = [task for task in pipeline.tasks if isinstance(task, SqlModelOperator)]
    assert len(models) >= 15
    for task in models:
        assert task.template_ext == (".sql",) and "sql" in task.template_fields
        task.business_date = "2026-11-20"
        task.render_template_fields({"params": {}}, jinja_env=pipeline.get_template_env())
        rendered = task.sql
        # the file's text, not its name
        assert rendered != task.model and ("select" in rendered or "insert" in rendered), task.task_id
        assert "{%" not in rendered and "{{" not in rendered and "{#" not in rendered, task.task_id
        assert task.statements() == model_statements(task.model), task.task_id
        if task.task_id.startswith("analytics."):  # a model home: its SELECT materialised
            assert f"insert into {task.table} (" in rendered, task.task_id
        task.sql = task.model


def test_a_model_file_is_compiled_once_per_process_and_again_when_edited(pipeline, tmp_path, monkeypatch):
    """Airflow gives every task a new template environment; the pipeline's compiled templates
    carry over from one to the next (make run renders every model once per date), but an
    edited file is compiled afresh."""
    import jinja2

    from ecommerce.template_cache import TEMPLATE_CACHE

    monkeypatch.setattr(TEMPLATE_CACHE, "_compiled", {})  # as in a new process
    compiled = []
    compile_template = jinja2.Environment._compile
    monkeypatch.setattr(jinja2.Environment, "_compile",
                        lambda env, source, filename: compiled.append(filename) or compile_template(env, source, filename))

    def render(name: str, searchpath=None) -> str:
        environment = pipeline.get_template_env()
        if searchpath:
            environment.loader = jinja2.FileSystemLoader(searchpath)
        return environment.get_template(name).render(params={})

    first = render("warehouse/040_fact_sales.sql")
    assert any(name.endswith("040_fact_sales.sql") for name in compiled)
    assert any(name.endswith("macros/first_orders.sql") for name in compiled)  # imported macros too
    compiled.clear()
    assert render("warehouse/040_fact_sales.sql") == first and compiled == []

    model = tmp_path / "model.sql"
    model.write_text("select 1")
    assert render("model.sql", [str(tmp_path)]) == "select 1"
    model.write_text("select 2")
    assert render("model.sql", [str(tmp_path)]) == "select 2"
    assert [name for name in compiled if name.endswith("model.sql")] == [str(model)] * 2


#: Statements openlineage-sql cannot read, by task and how they start, each with why what they
#: read and write is known anyway: a statement it cannot read would leave the graph and the
#: locks without its tables, silently.
UNREAD_BY_THE_PARSER = {
    ("production.customers", "insert into production.snapshot_dates"):
        "a write the locks find by its insert target (table_locks); it reads the date's snapshot, written before",
    ("production.products", "insert into production.snapshot_dates"): "the same",
    ("production.transaction_items", "do $$"): "refreshes the planner's statistics of tables the model writes",
    ("warehouse.fact_sales", "do $$"): "the same",
}


def test_the_parser_reads_every_statement_that_names_a_pipeline_table(pipeline):
    import re

    from openlineage.common.sql import parse

    from ecommerce.lineage import PARAMETER
    from ecommerce.models import model_statements
    from ecommerce.operators import SqlModelOperator

    names = re.compile(r"\b(?:staging|production|warehouse|analytics|audit|quarantine)\.\w+")
    unread = set()
    for task in pipeline.tasks:
        if not isinstance(task, SqlModelOperator):
            continue
        for statement in model_statements(task.model):
            code = " ".join(re.sub(r"--[^\n]*", "", statement).split())
            meta = parse([PARAMETER.sub("NULL", statement).replace("%%", "%")], dialect="postgres")
            if names.search(code) and meta.errors:
                unread.add(next(((task.task_id, start) for t, start in UNREAD_BY_THE_PARSER
                                 if t == task.task_id and code.startswith(start)), (task.task_id, code[:80])))
    assert unread == set(UNREAD_BY_THE_PARSER)
