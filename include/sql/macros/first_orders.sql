{#-
    Each customer's first completed order among the loaded dates (warehouse.customer_first_orders),
    and the moves of first orders queued for agg_daily_sales (warehouse.new_customer_changes).
-#}


{#- The date key of the first completed fact of the customer `customer_id` (an expression). -#}
{% macro first_completed_date_key(customer_id) -%}
select min(facts.date_key)
from warehouse.fact_sales as facts
inner join warehouse.dim_customers as dim using (customer_sk)
where dim.customer_id = {{ customer_id }} and facts.status = 'completed'
{%- endmacro %}


{% macro refresh_first_orders(customers, replaced_date_key=none) -%}
-- First completed orders of the customers `customers` selects (by dim_customers' customer_id);
-- a first order that moves is queued for agg_daily_sales: the customer is no longer new on its
-- old date, and new on its new one.
{%- if replaced_date_key %}
-- Only the facts of the replaced date changed: a first order before it stands, one on it or
-- after it is that date's when the customer has a completed order there now, and all of a
-- customer's facts are read only when their first order was that date and is gone.
{%- endif %}
create temporary table first_order_changes on commit drop as
with affected as (
    select distinct customer_id from ({{ customers }}) as customers
),

{%- if replaced_date_key %}

completed_on_date as (
    select distinct dim.customer_id
    from warehouse.fact_sales as facts
    inner join warehouse.dim_customers as dim using (customer_sk)
    where facts.date_key = {{ replaced_date_key }} and facts.status = 'completed'
),
{%- endif %}

recomputed as (
    select
        affected.customer_id,
        {%- if replaced_date_key %}
        case
            when known.first_date_key < {{ replaced_date_key }} then known.first_date_key
            when on_date.customer_id is not null then {{ replaced_date_key }}
            when known.first_date_key is distinct from {{ replaced_date_key }} then known.first_date_key
            else ({{ first_completed_date_key('affected.customer_id') | indent(16) }})
        end as first_date_key
    from affected
    left join warehouse.customer_first_orders as known using (customer_id)
    left join completed_on_date as on_date using (customer_id)
        {%- else %}
        ({{ first_completed_date_key('affected.customer_id') | indent(8) }}) as first_date_key
    from affected
        {%- endif %}
)

select recomputed.customer_id, known.first_date_key as old_date_key, recomputed.first_date_key as new_date_key
from recomputed
left join warehouse.customer_first_orders as known using (customer_id)
where known.first_date_key is distinct from recomputed.first_date_key;

delete from warehouse.customer_first_orders
where customer_id in (select customer_id from first_order_changes);

insert into warehouse.customer_first_orders (customer_id, first_date_key)
select customer_id, new_date_key from first_order_changes where new_date_key is not null;

insert into warehouse.new_customer_changes (date_key, customer_id, change)
select old_date_key, customer_id, -1 from first_order_changes where old_date_key is not null
union all
select new_date_key, customer_id, 1 from first_order_changes where new_date_key is not null
{%- endmacro %}
