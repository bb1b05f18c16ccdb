{#-
description: The 20 products with the most completed revenue over the loaded history, named as they are today.
materialized: table
columns:
  revenue_rank: {type: integer, description: 1 for the product with the most net revenue; ties go to the lower product_id.}
  product_id: {type: bigint, description: The product's business key.}
  product_name: {type: text, description: The product's current name.}
  category_name: {type: text, description: The product's current category.}
  units: {type: integer, description: Units sold in completed orders.}
  net_revenue: {type: "numeric(16, 2)", description: Net revenue of the product's lines in completed orders.}
primary_key: [revenue_rank]
checks:
  - name: top_products_product_unique
    scope: table
    type: unique
    column: product_id
    severity: error
  - name: top_products_product_known
    scope: table
    type: relationship
    column: product_id
    to_table: warehouse.dim_products
    to_column: product_id
    severity: warn
-#}
-- From the monthly sales per product (warehouse.product_monthly_sales), not every fact.
with per_product as (
    select product_id, sum(units) as units, sum(net_revenue) as net_revenue
    from warehouse.product_monthly_sales
    where product_id <> -1
    group by product_id
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
