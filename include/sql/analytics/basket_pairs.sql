{#-
description: >-
  Per loaded date, how many completed orders held each pair of products and each pair of
  categories, and each one at all (a pair of an item with itself): what product_affinity sums
  over the loaded history.
materialized: incremental
incremental_by: date
columns:
  date: {type: date, description: The business date.}
  pair_level: {type: text, description: "'product' (items are product_id) or 'category' (items are category names)."}
  item_a: {type: text, description: One item of the pair.}
  item_b: {type: text, description: "The other, ordered after item_a as text; equal to item_a, the orders holding it at all."}
  orders: {type: integer, description: Completed orders of the date holding both.}
primary_key: [date, pair_level, item_a, item_b]
constraints:
  - pair_level in ('product', 'category')
  - item_a <= item_b
checks:
  # An order holding both items holds each: a pair never counts more orders than either item.
  # Each item's own row is looked up by its key, pair by pair, not joined: a join of the date's
  # rows with themselves was planned on statistics that do not hold the date yet (ANALYZE comes
  # later), as one row, and ran as a nested loop over every row of the date for every row (2-3 s
  # a date instead of 0.01 s, once every earlier date was in the statistics).
  - name: basket_pairs_within_their_items
    date_column: date
    type: sql
    severity: error
    query: >-
      select pairs.* from analytics.basket_pairs as pairs
      where pairs.date = %(business_date)s and pairs.item_a <> pairs.item_b
          and pairs.orders > least(
              (select alone.orders from analytics.basket_pairs as alone
               where (alone.date, alone.pair_level, alone.item_a, alone.item_b)
                   = (pairs.date, pairs.pair_level, pairs.item_a, pairs.item_a)),
              (select alone.orders from analytics.basket_pairs as alone
               where (alone.date, alone.pair_level, alone.item_a, alone.item_b)
                   = (pairs.date, pairs.pair_level, pairs.item_b, pairs.item_b)))
-#}
-- Each product as the version valid at the sale names it (its category is that version's); a
-- line on the unknown product is left out. Recomputed for the business date and every date a
-- load of another date made stale (a fact re-pointed to a version with other attributes: its
-- category may differ; a version differing in price alone recomputes a date that cannot have
-- changed, which costs time, not correctness).
{% import 'macros/stale_dates.sql' as stale_dates %}

{{ stale_dates.take_stale_dates('basket_pairs', made_stale_by=['dim_products.attributes']) }};

-- An order's lines share its time, so each of its products is one version, of one category:
-- order_products holds an order's product once.
with order_products as materialized (
    select recomputed_dates.date, facts.transaction_id, products.product_id, products.category_name
    from recomputed_dates
    inner join warehouse.fact_sales as facts
        on facts.date_key = recomputed_dates.date_key and facts.status = 'completed'
        and {{ stale_dates.in_recomputed_dates('facts.date_key') }}
    inner join warehouse.dim_products as products using (product_sk)
    where products.product_id <> -1
    group by recomputed_dates.date, facts.transaction_id, products.product_id, products.category_name
),

order_categories as materialized (
    select date, transaction_id, category_name
    from order_products
    group by date, transaction_id, category_name
),

-- Each level's items of an order once: an item's own row counts the orders holding it, and the
-- orders holding two items pair them, the lesser first (products by their bigint ids, three
-- times as fast as one text column of both levels on a million-line day). Items of one order
-- counted, not paired with themselves, and grouped rather than sorted by a DISTINCT: 2.7-3.0 s
-- on a million-line day against 3.1-3.4 s.
product_pairs as (
    select date, product_id as item_a, product_id as item_b, count(*) as orders
    from order_products
    group by date, product_id
    union all
    select first.date, first.product_id, second.product_id, count(*)
    from order_products as first
    inner join order_products as second
        on second.transaction_id = first.transaction_id and second.product_id > first.product_id
    group by first.date, first.product_id, second.product_id
),

category_pairs as (
    select date, category_name as item_a, category_name as item_b, count(*) as orders
    from order_categories
    group by date, category_name
    union all
    select first.date, first.category_name, second.category_name, count(*)
    from order_categories as first
    inner join order_categories as second
        on second.transaction_id = first.transaction_id and second.category_name > first.category_name
    group by first.date, first.category_name, second.category_name
)

-- items are text, ordered as text
select date, 'product', least(item_a::text, item_b::text), greatest(item_a::text, item_b::text), orders
from product_pairs
union all
select date, 'category', item_a, item_b, orders
from category_pairs;
