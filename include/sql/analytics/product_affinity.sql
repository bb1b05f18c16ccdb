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
with history as materialized (  -- read twice: the pairs, and their items' own rows
    select pair_level, item_a, item_b, sum(orders) as orders
    from analytics.basket_pairs
    group by pair_level, item_a, item_b
),

-- Each item's own row (item_a = item_b: the orders holding it at all), which every item of a
-- pair has (were one missing, its orders would be null, which the table refuses), with its name:
-- a product's current name, a category's own. A few hundred rows, looked up twice per pair by
-- hash. Joined left: an inner join of the summed history with its own rows was estimated at a
-- row or two whatever its size, and the joins after it ran as nested loops over every pair
-- (0.7 s at 21 dates, 2.2 s from 53 on, default volume); a left join is estimated at its pairs
-- at least. Windows over the pairs did the same in two sorts of them (0.24 s at 64 dates
-- against 0.14 s).
items as materialized (
    select history.pair_level, history.item_a as item, history.orders,
        coalesce(products.product_name, history.item_a) as name
    from history
    left join warehouse.dim_products as products
        on history.pair_level = 'product' and products.is_current and products.product_id <> -1
        and products.product_id::text = history.item_a
    where history.item_a = history.item_b
),

all_orders as materialized (  -- summed once: inlined, it was summed again for every pair
    select sum(orders) as orders from analytics.daily_kpis
)

select
    pairs.pair_level,
    pairs.item_a,
    pairs.item_b,
    item_a.name,
    item_b.name,
    pairs.orders,
    item_a.orders,
    item_b.orders,
    round(pairs.orders::numeric / all_orders.orders, 6),
    round(pairs.orders::numeric / item_a.orders, 4),
    round(pairs.orders::numeric / item_b.orders, 4),
    round(pairs.orders::numeric * all_orders.orders / (item_a.orders * item_b.orders), 4)
from history as pairs
cross join all_orders
left join items as item_a on item_a.pair_level = pairs.pair_level and item_a.item = pairs.item_a
left join items as item_b on item_b.pair_level = pairs.pair_level and item_b.item = pairs.item_b
where pairs.item_a < pairs.item_b;
