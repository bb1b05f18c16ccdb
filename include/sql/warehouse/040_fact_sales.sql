-- warehouse.fact_sales: one row per transaction line of the business date. Customer and
-- product resolve to the dimension version valid at the transaction time (point in time), or
-- to the unknown member -1. The date's rows are replaced as a whole: built in a table of their
-- own, which then becomes the date's partition (warehouse.replace_fact_sales_date). The first
-- orders of the customers they name are brought up to date (a late date can be someone's first
-- order).
{% import 'macros/first_orders.sql' as first_orders %}
{% import 'macros/statistics.sql' as statistics %}
{% import 'macros/date_orders.sql' as orders %}
{% import 'macros/parallel.sql' as parallel %}

create temporary table replaced_customers on commit drop as
select distinct dim.customer_id
from warehouse.fact_sales as facts
inner join warehouse.dim_customers as dim using (customer_sk)
where facts.date_key = warehouse.date_key(%(business_date)s::date);

{{ orders.remember_order_range() }};

-- Built by a CREATE TABLE AS, whose SELECT PostgreSQL may run on both cores (an INSERT's runs on
-- one). Its columns keep the types of the columns they come from, the amounts computed here are
-- cast to theirs in warehouse.fact_sales; attaching the table checks every type, and
-- replace_fact_sales_date gives it fact_sales' NOT NULL constraints.
{{ parallel.price_rows_for_parallel_builds() }};

create table warehouse.fact_sales_loading as
select
    warehouse.date_key(%(business_date)s::date) as date_key,
    coalesce(customers.customer_sk, -1) as customer_sk,
    coalesce(products.product_sk, -1) as product_sk,
    lines.transaction_id,
    lines.line_number,
    transactions.transaction_ts,
    lines.quantity,
    lines.unit_price,
    lines.discount,
    round(lines.quantity * lines.unit_price, 2)::numeric(14, 2) as gross_amount,
    round(lines.quantity * lines.unit_price * (1 - lines.discount), 2)::numeric(14, 2) as net_amount,
    transactions.status
from production.transactions as transactions
inner join production.transaction_items as lines using (transaction_id)
left join warehouse.dim_customers as customers
    on customers.customer_id = transactions.customer_id
    and transactions.transaction_ts >= customers.valid_from
    and transactions.transaction_ts < customers.valid_to
left join warehouse.dim_products as products
    on products.product_id = lines.product_id
    and transactions.transaction_ts >= products.valid_from
    and transactions.transaction_ts < products.valid_to
where transactions.batch_date = %(business_date)s
    and {{ orders.in_order_range('lines.transaction_id') | indent(4) }};

select warehouse.replace_fact_sales_date(%(business_date)s::date);

{{ statistics.analyze_if_stale(['warehouse.fact_sales', 'warehouse.dim_customers', 'warehouse.customer_first_orders']) }};

{{ first_orders.refresh_first_orders(
    "select customer_id from replaced_customers
     union all
     select dim.customer_id
     from warehouse.fact_sales as facts
     inner join warehouse.dim_customers as dim using (customer_sk)
     where facts.date_key = warehouse.date_key(%(business_date)s::date)",
    replaced_date_key="warehouse.date_key(%(business_date)s::date)") }};
