-- audit.loaded_dates: the business date is completely loaded. The last warehouse step: a run
-- that stops before it leaves the date out, and its rerun converges.
--
-- First, what fact_sales' foreign keys state (declared NOT ENFORCED, see 005_warehouse.sql):
-- every fact of the date points at its date and at a customer and a product version that exist.
select audit.assert(
    exists (select from warehouse.dim_date where date_key = to_char(%(business_date)s::date, 'YYYYMMDD')::integer)
    and not exists (
        select from warehouse.fact_sales as facts
        left join warehouse.dim_customers as customers using (customer_sk)
        where facts.date_key = to_char(%(business_date)s::date, 'YYYYMMDD')::integer
            and customers.customer_sk is null
    )
    and not exists (
        select from warehouse.fact_sales as facts
        left join warehouse.dim_products as products using (product_sk)
        where facts.date_key = to_char(%(business_date)s::date, 'YYYYMMDD')::integer
            and products.product_sk is null
    ),
    'a fact of ' || %(business_date)s::text || ' points at no dim_date, dim_customers or dim_products row'
);

insert into audit.loaded_dates (business_date)
values (%(business_date)s)
on conflict (business_date) do update set loaded_at = excluded.loaded_at;
