-- The monthly sales summaries take stale dates too.
alter table if exists warehouse.stale_dates
    drop constraint if exists stale_dates_model_check,
    add constraint stale_dates_model_check
        check (model in ('agg_daily_sales', 'daily_kpis', 'customer_monthly_sales', 'product_monthly_sales'));
