-- Analytics: small tables a dashboard or BI tool reads directly, rebuilt after every load.
-- Revenue here always means net revenue of completed orders. Each table is declared in its
-- model's home, include/sql/analytics/<table>.sql (or .yml for a table the forecast writes),
-- and created from that declaration by the bootstrap (ecommerce.models); only the view below
-- is declared here.

-- What BI tools may see of the pipeline's own records: per loaded business date, when it
-- finished loading, its quality gates' latest outcome and how many rows were quarantined.
-- bi_reader cannot read audit or quarantine (rejected rows keep their raw records); this view
-- runs with its owner's rights and shows counts only.
create or replace view analytics.pipeline_health as
with latest_gate as (
    select distinct on (business_date) business_date, run_id
    from audit.dq_results
    order by business_date, checked_at desc
),

gate as (
    select
        results.business_date,
        count(*) as quality_checks,
        count(*) filter (where results.status = 'warn') as quality_warnings,
        count(*) filter (where results.status = 'fail') as quality_failures
    from audit.dq_results as results
    inner join latest_gate using (business_date, run_id)
    group by results.business_date
),

quarantined as (
    select batch_date as business_date, count(*) as rows_quarantined
    from quarantine.rejected_rows
    group by batch_date
)

select
    loaded.business_date,
    loaded.loaded_at,
    coalesce(gate.quality_checks, 0) as quality_checks,
    coalesce(gate.quality_warnings, 0) as quality_warnings,
    coalesce(gate.quality_failures, 0) as quality_failures,
    coalesce(quarantined.rows_quarantined, 0) as rows_quarantined
from audit.loaded_dates as loaded
left join gate using (business_date)
left join quarantined using (business_date);
