-- analytics.top_products: the 20 products with the most completed revenue.
{% import 'macros/history.sql' as history %}
{{ history.serialize('warehouse') }};

delete from analytics.top_products;

insert into analytics.top_products
with per_product as (
    select
        products.product_id,
        sum(facts.quantity) as units,
        sum(facts.net_amount) as net_revenue
    from warehouse.fact_sales as facts
    inner join warehouse.dim_products as products using (product_sk)
    where facts.status = 'completed' and facts.product_sk <> -1
    group by products.product_id
),

ranked as (
    select *, row_number() over (order by net_revenue desc, product_id) as revenue_rank
    from per_product
)

select
    ranked.revenue_rank,
    ranked.product_id,
    current_product.product_name,
    current_product.category_name,
    ranked.units,
    ranked.net_revenue
from ranked
inner join warehouse.dim_products as current_product
    on current_product.product_id = ranked.product_id and current_product.is_current
where ranked.revenue_rank <= 20;
