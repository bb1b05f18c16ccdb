"""Run declared quality checks and stop the pipeline on an error-severity failure."""

from __future__ import annotations

from collections.abc import Sequence

from airflow.sdk import BaseOperator

from ecommerce import alerts, audit
from ecommerce.failures import ContractViolation, fail_fast
from ecommerce.settings import QUALITY_DIR, WAREHOUSE_CONN_ID


class QualityCheckFailed(ContractViolation):
    """One or more error-severity checks failed."""


class QualityGateOperator(BaseOperator):
    """Run the checks of ``include/quality/<checks_file>``, and those given as ``checks``, for a
    business date: a gate after a layer (staging.yml, production.yml, ...).

    Every result goes to ``audit.dq_results`` (with a sample of failing rows) and into the task
    log as a table. Any error-severity failure fails the task, which stops everything
    downstream at once, without retries (the same batch fails the same way); warn-severity
    failures are reported, sent as one alert (``ecommerce.alerts``) and let the run go on.

    :param checks_file: file name under ``include/quality``, e.g. ``staging.yml``.
    :param checks: check declarations from another source (mappings as in a check file, each
        naming its ``table``), run after the file's.
    :param layer: instead of both, a layer whose checks to run (``quality.checks.layer_checks``:
        its file, if any, and its model homes').
    :param business_date: the business date, ``YYYY-MM-DD`` (templated).
    :param conn_id: Airflow connection id of the warehouse.
    """

    template_fields: Sequence[str] = ("business_date",)
    ui_color = "#e0f2e9"

    def __init__(self, *, checks_file: str | None = None, checks: Sequence[dict] = (), layer: str | None = None,
                 business_date: str, conn_id: str = WAREHOUSE_CONN_ID, **kwargs) -> None:
        super().__init__(**kwargs)
        if (layer is None) == (checks_file is None and not checks):
            raise ValueError(f"{kwargs.get('task_id')}: a quality gate needs a checks_file or checks, or a layer")
        self.checks_file = checks_file
        self.checks = list(checks)
        self.layer = layer
        self.business_date = business_date
        self.conn_id = conn_id

    def execute(self, context) -> dict[str, int]:
        with fail_fast():
            return self._check(context)

    def _check(self, context) -> dict[str, int]:
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        from ecommerce.quality import engine
        from ecommerce.quality.checks import layer_checks, load_checks, parse_checks

        checks = layer_checks(self.layer) if self.layer else []
        checks += load_checks(QUALITY_DIR / self.checks_file) if self.checks_file else []
        checks += parse_checks(self.checks, f"{self.task_id} checks")
        if len({check.name for check in checks}) != len(checks):
            raise ValueError(f"{self.task_id}: check names must be unique")
        with PostgresHook(postgres_conn_id=self.conn_id).get_conn() as conn, conn.cursor() as cursor:
            with audit.task_run(cursor, context, self.business_date) as counts:
                results = engine.evaluate_all(cursor, checks, self.business_date)
                engine.persist(cursor, results, context["run_id"], self.business_date)
                counts.read = len(results)
                counts.rejected = sum(result.blocks for result in results)
        self.log.info("quality checks for %s:\n%s", self.business_date, engine.format_table(results))
        for result in results:
            if result.status != "pass":
                self.log.warning("%s %s: %d failing rows, sample: %s", result.status.upper(),
                                 result.check.name, result.failing_rows, result.sample)
        self.results = results
        warnings = [result for result in results if result.status == "warn"]
        if warnings:
            alerts.send(alerts.quality_warnings(context, self.business_date, warnings), context)
        failed = [result.check.name for result in results if result.blocks]
        if failed:
            raise QualityCheckFailed(
                f"{len(failed)} error-severity check(s) failed for {self.business_date}: {', '.join(failed)}"
            )
        return {status: sum(r.status == status for r in results) for status in ("pass", "warn", "fail")}

    def get_openlineage_facets_on_complete(self, task_instance):
        """OpenLineage: each checked table as an input carrying the data-quality assertions facet
        (one assertion per check: passed or not, observed value against threshold), and the
        results written to ``audit.dq_results``."""
        from airflow.providers.openlineage.extractors import OperatorLineage
        from openlineage.client.generated.data_quality_assertions_dataset import (
            Assertion,
            DataQualityAssertionsDatasetFacet,
        )

        from ecommerce import lineage

        place = lineage.warehouse(self.conn_id)
        results = getattr(self, "results", [])
        by_table: dict[str, list] = {}
        for result in results:
            by_table.setdefault(result.check.table, []).append(Assertion(
                assertion=result.check.name, success=result.status == "pass", column=result.check.options.get("column"),
                severity=result.check.severity, expected=f"{result.check.threshold:.6g}",
                actual=f"{result.observed:.6g}"))
        return OperatorLineage(
            inputs=[lineage.table_dataset(place, table, quality=DataQualityAssertionsDatasetFacet(assertions=checks))
                    for table, checks in sorted(by_table.items())],
            outputs=[lineage.table_dataset(place, "audit.dq_results", rows=len(results), output=True)] if results else [],
        )
