{#-
    Completed sales of one entity (a customer or a product, by the dimension's natural key; -1
    for facts on the unknown member) per date and per month: the history the customer and
    product analytics read instead of every fact, so their cost follows the day.

    The daily rows of the business date, and of every date whose facts a dimension re-pointed
    (warehouse.stale_dates), are summed again from those dates' facts; the monthly rows of the
    keys those dates name, before or after, are summed again from their daily rows (at most a
    month of them each). Any order of dates gives the same rows.

    With ``totals``, those keys' months are summed again into a row per key as well
    (warehouse.<entity>_totals): analytics that want a key's whole history read a row per key,
    not a row per key and month.
-#}
{% import 'macros/stale_dates.sql' as stale_dates %}

{% macro refresh(entity, dimension, surrogate_key, daily, monthly, made_stale_by, totals=none) -%}
{%- set key = entity ~ '_id' %}
{{ stale_dates.take_stale_dates(entity ~ '_monthly_sales', made_stale_by) }};

-- The months (their first date key, yyyymm01) of the keys these dates named before the
-- reload: a key can drop out of a date.
create temporary table touched_months on commit drop as
select distinct {{ key }}, date_key / 100 * 100 + 1 as month_key
from warehouse.{{ entity }}_daily_sales
where date_key in (select date_key from recomputed_dates);

delete from warehouse.{{ entity }}_daily_sales where date_key in (select date_key from recomputed_dates);

insert into warehouse.{{ entity }}_daily_sales ({{ key }}, date_key, {{ daily.keys() | join(', ') }})
select
    dim.{{ key }},
    facts.date_key,
    {%- for expression in daily.values() %}
    {{ expression }}{{ ',' if not loop.last }}
    {%- endfor %}
from warehouse.fact_sales as facts
inner join warehouse.{{ dimension }} as dim using ({{ surrogate_key }})
where {{ stale_dates.in_recomputed_dates('facts.date_key') }}
    and facts.status = 'completed'
group by dim.{{ key }}, facts.date_key;

-- ... and the months of the keys they name now.
insert into touched_months ({{ key }}, month_key)
select {{ key }}, date_key / 100 * 100 + 1
from warehouse.{{ entity }}_daily_sales
where date_key in (select date_key from recomputed_dates)
except
select {{ key }}, month_key from touched_months;

analyze touched_months;

delete from warehouse.{{ entity }}_monthly_sales as monthly
using touched_months as touched
where monthly.{{ key }} = touched.{{ key }}
    and monthly.month = to_date(touched.month_key::text, 'YYYYMMDD');

-- date keys are yyyymmdd: a month's days lie between its yyyymm01 and yyyymm31. The daily rows
-- are read by date, those of the touched months' days only (bounds known when the statement
-- runs): not the history.
insert into warehouse.{{ entity }}_monthly_sales ({{ key }}, month, {{ monthly.keys() | join(', ') }})
select
    touched.{{ key }},
    to_date(touched.month_key::text, 'YYYYMMDD'),
    {%- for expression in monthly.values() %}
    {{ expression }}{{ ',' if not loop.last }}
    {%- endfor %}
from touched_months as touched
inner join warehouse.{{ entity }}_daily_sales as daily
    on daily.{{ key }} = touched.{{ key }}
    and daily.date_key between touched.month_key and touched.month_key + 30
where daily.date_key between (select min(month_key) from touched_months)
    and (select max(month_key) + 30 from touched_months)
group by touched.{{ key }}, touched.month_key
{%- if totals %};

-- The keys whose totals change: those of the months summed again; in a warehouse loaded before
-- the totals existed, every key once.
create temporary table totaled_keys on commit drop as
select {{ key }} from touched_months
union
select {{ key }} from warehouse.{{ entity }}_monthly_sales
where not exists (select from warehouse.{{ entity }}_totals);

analyze totaled_keys;

delete from warehouse.{{ entity }}_totals where {{ key }} in (select {{ key }} from totaled_keys);

insert into warehouse.{{ entity }}_totals ({{ key }}, {{ totals.keys() | join(', ') }})
select
    monthly.{{ key }},
    {%- for expression in totals.values() %}
    {{ expression }}{{ ',' if not loop.last }}
    {%- endfor %}
from warehouse.{{ entity }}_monthly_sales as monthly
where monthly.{{ key }} in (select {{ key }} from totaled_keys)
group by monthly.{{ key }}
{%- endif %}
{%- endmacro %}
