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
  - name: basket_pairs_within_their_items
    date_column: date
    type: sql
    severity: error
    query: >-
      select pairs.* from analytics.basket_pairs as pairs
      inner join analytics.basket_pairs as a
          on (a.date, a.pair_level, a.item_a, a.item_b) = (pairs.date, pairs.pair_level, pairs.item_a, pairs.item_a)
      inner join analytics.basket_pairs as b
          on (b.date, b.pair_level, b.item_a, b.item_b) = (pairs.date, pairs.pair_level, pairs.item_b, pairs.item_b)
      where pairs.date = %(business_date)s and pairs.item_a <> pairs.item_b and pairs.orders > least(a.orders, b.orders)
-#}
-- Each product as the version valid at the sale names it (its category is that version's); a
-- line on the unknown product is left out. Recomputed for the business date and every date a
-- load of another date made stale (a fact re-pointed to a version with other attributes: its
-- category may differ; a version differing in price alone recomputes a date that cannot have
-- changed, which costs time, not correctness).
{% import 'macros/stale_dates.sql' as stale_dates %}

{{ stale_dates.take_stale_dates('basket_pairs', made_stale_by=['dim_products.attributes']) }};

with lines as (
    select distinct recomputed_dates.date, facts.transaction_id, products.product_id, products.category_name
    from recomputed_dates
    inner join warehouse.fact_sales as facts
        on facts.date_key = recomputed_dates.date_key and facts.status = 'completed'
        and {{ stale_dates.recomputed_date_bounds('facts.date_key') }}
    inner join warehouse.dim_products as products using (product_sk)
    where products.product_id <> -1
),

order_items as (
    select date, transaction_id, 'product' as pair_level, product_id::text as item from lines
    union
    select date, transaction_id, 'category', category_name from lines
)

select first.date, first.pair_level, first.item, second.item, count(*)
from order_items as first
inner join order_items as second
    on second.transaction_id = first.transaction_id and second.pair_level = first.pair_level
    and second.item >= first.item
group by first.date, first.pair_level, first.item, second.item;
