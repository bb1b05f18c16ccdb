{#-
    Dates a load of another date made stale for a model (warehouse.stale_dates): a dimension
    step adds (model, date) in the transaction that re-points the date's facts; the model takes
    its own rows as it starts, and recomputes them with the business date. Taken without a lock
    while another date's dimension step may add rows (ecommerce.table_locks): a row added after
    the take stays for the model's next run, which the DAG puts after that date's dimensions,
    and the model's later statements, each with a snapshot newer than the take, see every
    change whose row it took.
-#}


{#- `made_stale_by` declares which changes of a dimension's versions make a date's rows of this
    model stale: '<dimension>.key' (a fact moved to or from the unknown member: the natural key
    it counts under changed) or '<dimension>.attributes' (a fact re-pointed to a version with
    other attributes). The dimensions queue dates for the models that declare them
    (ecommerce.models.stale_models, read from the model files). -#}
{% macro take_stale_dates(model, made_stale_by) -%}
-- The dates to recompute: the business date, and those a load of another date made stale for
-- this model (taken: cleared as they are read), as `date` and `date_key`. Made stale by:
-- {{ made_stale_by | join(', ') }}.
create temporary table recomputed_dates on commit drop as
with taken as (
    delete from warehouse.stale_dates where model = '{{ model }}' returning business_date
)
select date, warehouse.date_key(date) as date_key
from (select business_date as date from taken union select %(business_date)s::date) as dates;

analyze recomputed_dates;  -- one date or a few: planned as such, facts are read by date

-- Their keys, a parameter of the statements after this one (ecommerce.models.bound_results):
-- see in_recomputed_dates.
select array_agg(date_key order by date_key) as recomputed_date_keys from recomputed_dates
{%- endmacro %}


{#- The condition that a fact's date key (`column`) is one of the recomputed dates: their keys as a
    bound parameter, a constant when PostgreSQL plans the statement, so fact_sales' partitions of
    other dates are never opened, nor planned. A condition on recomputed_dates itself (a join, a
    subquery) is known only as the statement runs: the partitions it leaves out were never read,
    but every one of them was opened and planned, which took a task 9 ms more on its first
    statement at 64 dates, and 2 ms more on each after it. -#}
{% macro in_recomputed_dates(column) -%}
{{ column }} = any(%(recomputed_date_keys)s::integer[])
{%- endmacro %}
