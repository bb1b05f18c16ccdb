{#-
description: >-
  Market-basket analysis over the loaded history: each pair of products, and of categories,
  bought in the same completed order, with how often (support), how likely one given the other
  (confidence, both ways) and how much more often than chance (lift).
materialized: table
columns:
  pair_level: {type: text, description: "'product' or 'category'."}
  item_a: {type: text, description: "One item: a product_id, or a category name."}
  item_b: {type: text, description: The other, ordered after item_a as text.}
  name_a: {type: text, description: "item_a's name: the product's current name, or the category."}
  name_b: {type: text, description: "item_b's name."}
  orders_together: {type: integer, description: Completed orders holding both.}
  orders_a: {type: integer, description: Completed orders holding item_a.}
  orders_b: {type: integer, description: Completed orders holding item_b.}
  support: {type: "numeric(9, 6)", description: orders_together / all completed orders.}
  confidence_a_to_b: {type: "numeric(7, 4)", description: "orders_together / orders_a: the share of item_a's orders that hold item_b."}
  confidence_b_to_a: {type: "numeric(7, 4)", description: orders_together / orders_b.}
  lift: {type: "numeric(12, 4)", description: "support / (the share of orders holding item_a × the share holding item_b): above 1, bought together more often than chance."}
primary_key: [pair_level, item_a, item_b]
constraints:
  - pair_level in ('product', 'category')
  - item_a < item_b
checks:
  - name: product_affinity_measures_in_range
    scope: table
    type: sql
    severity: error
    query: >-
      select * from analytics.product_affinity
      where not (support between 0 and 1 and confidence_a_to_b between 0 and 1
                 and confidence_b_to_a between 0 and 1 and lift > 0)
-#}
-- From the per-date counts (analytics.basket_pairs) and the completed orders of every loaded
-- date (analytics.daily_kpis), not every fact.
with history as (
    select pair_level, item_a, item_b, sum(orders) as orders
    from analytics.basket_pairs
    group by pair_level, item_a, item_b
),

items as (
    select pair_level, item_a as item, orders from history where item_a = item_b
),

all_orders as (
    select sum(orders) as orders from analytics.daily_kpis
),

names as (
    select 'product' as pair_level, product_id::text as item, product_name as name
    from warehouse.dim_products where is_current and product_id <> -1
)

select
    pairs.pair_level,
    pairs.item_a,
    pairs.item_b,
    coalesce(name_a.name, pairs.item_a),
    coalesce(name_b.name, pairs.item_b),
    pairs.orders,
    a.orders,
    b.orders,
    round(pairs.orders::numeric / all_orders.orders, 6),
    round(pairs.orders::numeric / a.orders, 4),
    round(pairs.orders::numeric / b.orders, 4),
    round(pairs.orders::numeric * all_orders.orders / (a.orders * b.orders), 4)
from history as pairs
inner join items as a on a.pair_level = pairs.pair_level and a.item = pairs.item_a
inner join items as b on b.pair_level = pairs.pair_level and b.item = pairs.item_b
cross join all_orders
left join names as name_a on name_a.pair_level = pairs.pair_level and name_a.item = pairs.item_a
left join names as name_b on name_b.pair_level = pairs.pair_level and name_b.item = pairs.item_b
where pairs.item_a < pairs.item_b;
