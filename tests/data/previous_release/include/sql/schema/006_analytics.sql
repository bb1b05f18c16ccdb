-- Analytics: small tables a dashboard or BI tool reads directly, rebuilt after every load.
-- Revenue here always means net revenue of completed orders.
create table if not exists analytics.daily_kpis (
    date date primary key,
    orders integer not null,
    customers integer not null,
    units integer not null,
    net_revenue numeric(16, 2) not null,
    avg_order_value numeric(14, 2) not null,
    revenue_7d_avg numeric(16, 2) not null,
    orders_7d_avg numeric(12, 2) not null
);

create table if not exists analytics.revenue_by_category (
    category_name text primary key,
    orders integer not null,
    units integer not null,
    net_revenue numeric(16, 2) not null,
    revenue_share numeric(7, 4) not null
);

create table if not exists analytics.sales_by_weekday (
    day_of_week smallint primary key,
    day_name text not null,
    is_weekend boolean not null,
    days integer not null,
    orders integer not null,
    net_revenue numeric(16, 2) not null,
    avg_daily_orders numeric(12, 2) not null,
    avg_daily_revenue numeric(16, 2) not null
);

create table if not exists analytics.top_products (
    revenue_rank integer primary key,
    product_id bigint not null,
    product_name text not null,
    category_name text not null,
    units integer not null,
    net_revenue numeric(16, 2) not null
);

create table if not exists analytics.customer_revenue_mix (
    customer_type text primary key check (customer_type in ('new', 'repeat')),
    customers integer not null,
    orders integer not null,
    net_revenue numeric(16, 2) not null,
    revenue_share numeric(7, 4) not null
);

create table if not exists analytics.insights (
    insight_key text primary key,
    headline text not null,
    metric_value numeric not null,
    details jsonb not null
);

create table if not exists analytics.rfm_segments (
    customer_id bigint primary key,
    recency_days integer not null,
    frequency integer not null,
    monetary numeric(16, 2) not null,
    r_score smallint not null,
    f_score smallint not null,
    m_score smallint not null,
    segment text not null
);

create table if not exists analytics.cohort_retention (
    cohort_month date not null,
    months_since_first integer not null,
    cohort_size integer not null,
    active_customers integer not null,
    retention_rate numeric(7, 4) not null,
    primary key (cohort_month, months_since_first)
);

-- The sales forecast (plugins/ecommerce/forecast): daily net revenue of completed orders for
-- the 14 days after the latest loaded date, per category and for 'All categories', with 80%
-- and 95% intervals, from the model the backtest chose.
create table if not exists analytics.sales_forecast (
    category_name text not null,
    forecast_date date not null,
    horizon_days smallint not null check (horizon_days between 1 and 14),
    net_revenue numeric(16, 2) not null,
    lower_80 numeric(16, 2) not null,
    upper_80 numeric(16, 2) not null,
    lower_95 numeric(16, 2) not null,
    upper_95 numeric(16, 2) not null,
    model text not null,
    history_days integer not null,
    history_start date not null,
    primary key (category_name, forecast_date),
    check (lower_95 <= lower_80 and lower_80 <= net_revenue and net_revenue <= upper_80 and upper_80 <= upper_95)
);

-- The rolling-origin backtest behind each choice: every candidate model per series, its
-- MASE (against in-sample seasonal naive) and MAPE, and which one the forecast uses.
create table if not exists analytics.forecast_accuracy (
    category_name text not null,
    model text not null,
    backtest_windows smallint not null,
    backtest_days smallint not null,
    mase numeric(10, 4),
    mape numeric(10, 2),
    chosen boolean not null,
    note text not null,
    primary key (category_name, model)
);

-- What BI tools may see of the pipeline's own records: per loaded business date, when it
-- finished loading, its quality gate's latest outcome and how many rows were quarantined.
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
