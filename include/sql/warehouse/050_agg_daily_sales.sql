-- warehouse.agg_daily_sales: the business date's completed sales per category. A customer is
-- new on the date of their first completed order loaded so far, returning after it.
delete from warehouse.agg_daily_sales
where date_key = to_char(%(business_date)s::date, 'YYYYMMDD')::integer;

insert into warehouse.agg_daily_sales (
    date_key, category_name, orders, lines, units, gross_revenue, net_revenue,
    distinct_customers, new_customers, returning_customers, avg_order_value
)
with sales as (
    select facts.*, customers.customer_id, products.category_name
    from warehouse.fact_sales as facts
    inner join warehouse.dim_customers as customers using (customer_sk)
    inner join warehouse.dim_products as products using (product_sk)
    where facts.date_key = to_char(%(business_date)s::date, 'YYYYMMDD')::integer
        and facts.status = 'completed'
),

first_orders as (
    select customers.customer_id, min(facts.date_key) as first_date_key
    from warehouse.fact_sales as facts
    inner join warehouse.dim_customers as customers using (customer_sk)
    where facts.status = 'completed'
        and customers.customer_id in (select customer_id from sales)
    group by customers.customer_id
),

per_category as (
    select
        sales.date_key,
        sales.category_name,
        count(distinct sales.transaction_id) as orders,
        count(*) as lines,
        sum(sales.quantity) as units,
        sum(sales.gross_amount) as gross_revenue,
        sum(sales.net_amount) as net_revenue,
        count(distinct sales.customer_id) as distinct_customers,
        count(distinct sales.customer_id) filter (
            where first_orders.first_date_key = sales.date_key
        ) as new_customers
    from sales
    left join first_orders using (customer_id)
    group by sales.date_key, sales.category_name
)

select
    date_key,
    category_name,
    orders,
    lines,
    units,
    gross_revenue,
    net_revenue,
    distinct_customers,
    new_customers,
    distinct_customers - new_customers,
    round(net_revenue / orders, 2)
from per_category;
