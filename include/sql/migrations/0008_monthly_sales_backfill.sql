-- A warehouse loaded before the daily and monthly sales summaries existed (none, or empty):
-- their models sum every date with facts once, on the next run.
do $$
declare
    summarised boolean := false;
begin
    if to_regclass('warehouse.fact_sales') is null then
        return;
    end if;
    if to_regclass('warehouse.customer_daily_sales') is not null
            and to_regclass('warehouse.product_daily_sales') is not null then
        execute 'select exists (select from warehouse.customer_daily_sales) '
                '    or exists (select from warehouse.product_daily_sales)' into summarised;
    end if;
    if not summarised then
        insert into warehouse.stale_dates (model, business_date)
        select models.model, to_date(dates.date_key::text, 'YYYYMMDD')
        from (values ('customer_monthly_sales'), ('product_monthly_sales')) as models (model)
        cross join (select distinct date_key from warehouse.fact_sales) as dates
        on conflict do nothing;
    end if;
end
$$;
