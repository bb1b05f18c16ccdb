{#- The lines of a date's orders, found through the lines' primary key.

    production.transaction_items has no date: its rows of a date are the lines of that date's
    orders. Joined on the order ids alone, half a million orders are planned as a hash join over
    every line of every date, a scan that grows with the history. Their ids also lie between the
    least and the greatest of them (a shop numbers its orders in sequence), and that range lets
    the primary key read just the date's lines; where the ids are not in sequence the range
    spans more, and the result is the same.

    `remember_order_range()` is a statement that keeps the range of the date's orders as two
    settings of the transaction; `in_order_range(column)` is the condition on a transaction id
    column. Settings rather than a subquery: the planner reads their values and estimates the
    range from its statistics, where a subquery's bounds would be a guess (half a percent of
    the table) and a million lines would be planned as a few thousand. -#}
{% macro remember_order_range() -%}
select
    set_config('ecommerce.first_order_id', coalesce(min(transaction_id), 0)::text, true),
    set_config('ecommerce.last_order_id', coalesce(max(transaction_id), -1)::text, true)
from (  -- a subquery (offset 0 keeps it one): min() over the key's index would walk every older date's ids
    select transaction_id from production.transactions where batch_date = %(business_date)s offset 0
) as date_orders
{%- endmacro %}


{% macro in_order_range(column) -%}
{{ column }} between current_setting('ecommerce.first_order_id')::bigint
    and current_setting('ecommerce.last_order_id')::bigint
{%- endmacro %}


{#- `column` is the id of one of the date's orders (after remember_order_range). -#}
{% macro of_date_orders(column) -%}
{{ in_order_range(column) }}
and {{ column }} in (select transaction_id from production.transactions where batch_date = %(business_date)s)
{%- endmacro %}
