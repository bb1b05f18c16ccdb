{#-
    History as a function of the loaded snapshots: the routines that customers and products
    share, from the production snapshot to the SCD2 dimension. Any set of business dates, loaded
    in any order, gives the same tables as loading them oldest first.

    A key's observations are the loaded snapshots that contain it, each with the version it
    showed (or none, when its lines were quarantined). From them:
    * a run is a stretch of snapshots containing the key with no complete snapshot lacking it in
      between; the first complete snapshot after a run lacks the key: it was deleted that day;
    * versions are the distinct (updated_at, attributes) a run shows, ordered by updated_at; a
      snapshot whose updated_at is older than one an earlier snapshot showed is stale and
      ignored (an older version never overwrites);
    * a run's first version is valid from the start of its updated_at's day (orders placed that
      day before a same-day change still find it), but not before the end of the last complete
      snapshot that lacked the key; later versions from their updated_at; the last version of
      a deleted run until the end of the deletion date.
-#}

{% macro snapshot_join(snapshots, key, value) -%}
-- the date's own snapshot lists every key as of the end of the day (one row per key)
left join production.{{ snapshots }} as {{ snapshots }}
    on {{ snapshots }}.batch_date = %(business_date)s and {{ snapshots }}.{{ key }} = {{ value }}
{%- endmacro %}


{#- The reasons a row referring to a key of the snapshot joined by snapshot_join fails. -#}
{% macro snapshot_reference(snapshots, key, entity) -%}
when {{ snapshots }}.{{ key }} is null then 'unknown_{{ entity }}'
when {{ snapshots }}.row_hash is null then '{{ entity }}_quarantined'
{%- endmacro %}


{% macro is_key(text) -%}
case when pg_input_is_valid(trim({{ text }}), 'bigint') then trim({{ text }})::bigint > 0 else false end
{%- endmacro %}


{% macro replace_snapshot(table, snapshots, key) -%}
-- What the date's snapshot said before this load (empty on a first load): keys whose
-- observation changes on a rerun are rebuilt too.
create temporary table previous_snapshot on commit drop as
select {{ key }} as natural_key, coalesce(row_hash, 'quarantined') as observation
from production.{{ snapshots }}
where batch_date = %(business_date)s;

create temporary table previous_snapshot_date on commit drop as
select keys_complete
from production.snapshot_dates
where table_name = '{{ table }}' and batch_date = %(business_date)s;

delete from production.{{ snapshots }} where batch_date = %(business_date)s
{%- endmacro %}


{% macro track_snapshot(table, snapshots, key, columns) -%}
-- Keys whose lines were all quarantined still exist: bad data is not a deletion.
insert into production.{{ snapshots }} (batch_date, {{ key }}, source_file, source_line)
select distinct on (trim(record_key)::bigint)
    %(business_date)s, trim(record_key)::bigint, source_file, source_line
from quarantine.rejected_rows
where source_table = '{{ table }}' and batch_date = %(business_date)s
    and {{ is_key('record_key') }}
order by trim(record_key)::bigint, source_line
on conflict (batch_date, {{ key }}) do nothing;

-- A quarantined line whose key could not be read might be any key: the snapshot's absences
-- then prove nothing, and no deletion is inferred from this date.
insert into production.snapshot_dates (table_name, batch_date, keys_complete)
select '{{ table }}', %(business_date)s, not exists (
    select from quarantine.rejected_rows
    where source_table = '{{ table }}' and batch_date = %(business_date)s
        and not {{ is_key('record_key') }}
)
on conflict (table_name, batch_date) do update set keys_complete = excluded.keys_complete;

-- The keys whose history this snapshot can change: all of them when it is the only snapshot;
-- else those it shows differently from the snapshots loaded just before and after it (a
-- missing neighbour changes nothing), those it
-- shows differently from its own previous load, and, around a snapshot whose keys are not
-- all known, every key of the neighbourhood.
create temporary table changed_keys on commit drop as
with dates as (
    select batch_date, keys_complete
    from production.snapshot_dates
    where table_name = '{{ table }}'
),

neighbours as (
    select
        (select max(batch_date) from dates where batch_date < %(business_date)s) as previous_date,
        (select min(batch_date) from dates where batch_date > %(business_date)s) as next_date,
        coalesce((select max(batch_date) from dates where batch_date < %(business_date)s and keys_complete),
                 '-infinity') as previous_complete,
        coalesce((select min(batch_date) from dates where batch_date > %(business_date)s and keys_complete),
                 'infinity') as next_complete
),

-- not materialized: each use below reads only its dates' snapshots (by index), not all of them
observed as not materialized (
    select batch_date, {{ key }} as natural_key, coalesce(row_hash, 'quarantined') as observation
    from production.{{ snapshots }}
),

this_date as (
    select natural_key, observation from observed where batch_date = %(business_date)s
),

previous_date as (
    select natural_key, observation
    from observed
    where batch_date = (select previous_date from neighbours)
),

next_date as (
    select natural_key, observation
    from observed
    where batch_date = (select next_date from neighbours)
),

uncertain as (
    select true as uncertain
    from neighbours
    where exists (select from previous_snapshot_date where not keys_complete)
        or exists (
            select from dates
            where not keys_complete
                and batch_date > neighbours.previous_complete and batch_date < neighbours.next_complete
        )
)

select natural_key
from this_date
where (select previous_date from neighbours) is null and (select next_date from neighbours) is null
union
{%- for other, loaded in [('previous_date', '(select previous_date from neighbours) is not null'),
                          ('next_date', '(select next_date from neighbours) is not null'),
                          ('previous_snapshot', 'exists (select from previous_snapshot)')] %}
select natural_key
from this_date
full join {{ other }} using (natural_key)
where {{ loaded }} and this_date.observation is distinct from {{ other }}.observation
union
{%- endfor %}
select observed.natural_key
from observed, neighbours
where exists (select from uncertain)
    and observed.batch_date between neighbours.previous_complete and neighbours.next_complete;

-- A handful of keys on most dates: planned as such, their snapshots are read by index.
analyze changed_keys;

-- The current state of the changed keys: the version with the newest updated_at (a later
-- snapshot breaks a tie), deleted as of the first complete snapshot after its last appearance.
insert into production.{{ table }} as target ({{ key }}, {{ columns | join(', ') }}, deleted_on)
select distinct on (snapshots.{{ key }})
    snapshots.{{ key }},
    {%- for column in columns %}
    snapshots.{{ column }},
    {%- endfor %}
    (
        select min(batch_date) from production.snapshot_dates
        where table_name = '{{ table }}' and keys_complete and batch_date > presence.last_present
    )
from production.{{ snapshots }} as snapshots
inner join (
    select {{ key }}, max(batch_date) as last_present
    from production.{{ snapshots }}
    where {{ key }} in (select natural_key from changed_keys)
    group by {{ key }}
) as presence using ({{ key }})
where snapshots.{{ key }} in (select natural_key from changed_keys) and snapshots.row_hash is not null
order by snapshots.{{ key }}, snapshots.updated_at desc, snapshots.batch_date desc
on conflict ({{ key }}) do update set
    {%- for column in columns %}
    {{ column }} = excluded.{{ column }},
    {%- endfor %}
    deleted_on = excluded.deleted_on;

-- A key no loaded snapshot shows any more (a rerun took it out) leaves production, unless an
-- order of another date still names it.
delete from production.{{ table }} as target
where {{ key }} in (select natural_key from changed_keys)
    and not exists (
        select from production.{{ snapshots }} as snapshots
        where snapshots.{{ key }} = target.{{ key }} and snapshots.row_hash is not null
    )
    {%- if table == 'customers' %}
    and not exists (select from production.transactions where customer_id = target.customer_id)
    {%- else %}
    and not exists (select from production.transaction_items where product_id = target.product_id)
    {%- endif %};

-- The dimension step rebuilds these keys' versions.
insert into production.changed_keys (table_name, natural_key)
select '{{ table }}', natural_key from changed_keys where natural_key is not null
on conflict do nothing
{%- endmacro %}


{% macro rebuild_versions(table, snapshots, key) -%}
-- Keys to rebuild: every key a snapshot load changed since the last rebuild, whichever date.
create temporary table rebuilt_keys (natural_key bigint primary key) on commit drop;

with taken as (
    delete from production.changed_keys where table_name = '{{ table }}' returning natural_key
)
insert into rebuilt_keys select natural_key from taken;

analyze rebuilt_keys;  -- a handful on most dates: their facts are then read by index

-- The versions of the rebuilt keys, from every loaded snapshot (see the top of this file).
create temporary table rebuilt_versions on commit drop as
with dates as (
    select
        batch_date,
        min(batch_date) filter (where keys_complete) over later as next_complete,
        max(batch_date) filter (where keys_complete) over earlier as previous_complete
    from production.snapshot_dates
    where table_name = '{{ table }}'
    window
        later as (order by batch_date rows between 1 following and unbounded following),
        earlier as (order by batch_date rows between unbounded preceding and 1 preceding)
),

observations as (
    select
        snapshots.{{ key }} as natural_key,
        snapshots.batch_date,
        snapshots.updated_at,
        snapshots.attribute_hash,
        snapshots.row_hash,
        dates.next_complete,
        dates.previous_complete,
        lag(snapshots.batch_date) over key_dates as previous_present,
        lag(dates.next_complete) over key_dates as complete_after_previous_present,
        lead(snapshots.batch_date) over key_dates as next_present,
        max(snapshots.updated_at) over (key_dates rows between unbounded preceding and 1 preceding)
            as newest_earlier_updated_at
    from production.{{ snapshots }} as snapshots
    inner join dates using (batch_date)
    where snapshots.{{ key }} in (select natural_key from rebuilt_keys)
    window key_dates as (partition by snapshots.{{ key }} order by snapshots.batch_date)
),

run_edges as (
    select
        *,
        -- the key reappears after a complete snapshot lacked it: a new run
        previous_present is null or complete_after_previous_present < batch_date as starts_run,
        -- a complete snapshot after this one lacks the key: deleted on that date
        case when next_present is null or next_complete < next_present then next_complete end as deleted_on
    from observations
),

runs as (
    select
        *,
        count(*) filter (where starts_run) over (partition by natural_key order by batch_date) as run_number
    from run_edges
),

run_bounds as (
    select
        *,
        coalesce(max(case when starts_run then (previous_complete + 1)::timestamp at time zone 'UTC' end)
                     over run, '-infinity') as run_starts_after,
        coalesce(max((deleted_on + 1)::timestamp at time zone 'UTC') over run, 'infinity') as run_ends_at
    from runs
    window run as (partition by natural_key, run_number)
),

versions as (
    -- one per run and updated_at, as the latest snapshot showing it; stale snapshots left out
    select distinct on (natural_key, run_number, updated_at) *
    from run_bounds
    where row_hash is not null
        and (newest_earlier_updated_at is null or updated_at >= newest_earlier_updated_at)
    order by natural_key, run_number, updated_at, batch_date desc
),

starts as (
    select
        *,
        case
            when row_number() over run_order = 1
                then greatest(date_trunc('day', updated_at, 'UTC'), run_starts_after)
            else greatest(updated_at, run_starts_after)
        end as valid_from
    from versions
    window run_order as (partition by natural_key, run_number order by updated_at)
),

held as (
    -- a version overtaken at the same instant, or starting after the deletion, never held
    select *, lag(attribute_hash) over run_order as previous_hash
    from (
        select *, lead(valid_from) over run_order as next_valid_from
        from starts
        window run_order as (partition by natural_key, run_number order by valid_from, updated_at)
    ) as ordered
    where (next_valid_from is null or valid_from < next_valid_from) and valid_from < run_ends_at
    window run_order as (partition by natural_key, run_number order by valid_from)
)

select
    natural_key,
    batch_date,
    attribute_hash,
    valid_from,
    coalesce(lead(valid_from) over run_order, run_ends_at) as valid_to
from held
where previous_hash is distinct from attribute_hash  -- an unchanged version makes no new one
window run_order as (partition by natural_key, run_number order by valid_from)
{%- endmacro %}


{#- stale_models: the models whose rows depend on the attributes of the version a fact points
    at (a fact re-pointed to a version with other attributes makes its date stale for them; one
    re-pointed only because a version's validity moved, to the same attributes, does not);
    stale_models_by_key: those that depend only on the natural key it counts under, which changes
    only when a fact moves to or from the unknown member (a move between versions stays within
    one key). -#}
{% macro merge_versions(dimension, surrogate_key, columns, source, unknown_member_key, stale_models,
                        stale_models_by_key) -%}
-- The rebuilt versions with their attributes; `source` selects a snapshot row's attributes by
-- (batch_date, natural_key).
create temporary table new_versions on commit drop as
select
    versions.natural_key,
    versions.attribute_hash,
    versions.valid_from,
    versions.valid_to,
    versions.valid_to = 'infinity' as is_current,
    {%- for column in columns %}
    source.{{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
from rebuilt_versions as versions
inner join ({{ source }}) as source using (batch_date, natural_key);

-- Versions that did not change keep their surrogate key; the others are replaced.
create temporary table replaced_versions on commit drop as
select dim.{{ surrogate_key }}
from warehouse.{{ dimension }} as dim
where dim.{{ key_of(dimension) }} in (select natural_key from rebuilt_keys)
    and not exists (
        select from new_versions
        where new_versions.natural_key = dim.{{ key_of(dimension) }}
            and new_versions.valid_from = dim.valid_from
            and new_versions.attribute_hash = dim.attribute_hash
    );

-- From when each rebuilt key's versions differ: a fact before that instant points at a version
-- that stays, valid there as before, and is not read. A version replaced or added differs over
-- all its validity; one kept, from where its old and its new end part. A date loaded in order
-- adds a version from the day's change on, so a key's older facts (most of them, more with
-- every date) are not read.
create temporary table changed_since on commit drop as
select natural_key, min(changed_at) as changed_at
from (
    select dim.{{ key_of(dimension) }} as natural_key, dim.valid_from as changed_at
    from warehouse.{{ dimension }} as dim
    where dim.{{ surrogate_key }} in (select {{ surrogate_key }} from replaced_versions)
    union all
    select
        new_versions.natural_key,
        case when dim.{{ surrogate_key }} is null then new_versions.valid_from
            else least(dim.valid_to, new_versions.valid_to) end
    from new_versions
    left join warehouse.{{ dimension }} as dim
        on dim.{{ key_of(dimension) }} = new_versions.natural_key
            and dim.valid_from = new_versions.valid_from
            and dim.attribute_hash = new_versions.attribute_hash
    where dim.{{ surrogate_key }} is null or dim.valid_to <> new_versions.valid_to
) as changes
group by natural_key;

analyze changed_since;

update warehouse.{{ dimension }}
set is_current = false
where {{ key_of(dimension) }} in (select natural_key from rebuilt_keys) and is_current;

update warehouse.{{ dimension }} as dim
set valid_to = new_versions.valid_to, is_current = new_versions.is_current
from new_versions
where new_versions.natural_key = dim.{{ key_of(dimension) }}
    and new_versions.valid_from = dim.valid_from
    and new_versions.attribute_hash = dim.attribute_hash;

insert into warehouse.{{ dimension }} (
    {{ key_of(dimension) }}, {{ columns | join(', ') }}, attribute_hash, valid_from, valid_to, is_current
)
select natural_key, {{ columns | join(', ') }}, attribute_hash, valid_from, valid_to, is_current
from new_versions
where not exists (
    select from warehouse.{{ dimension }} as dim
    where new_versions.natural_key = dim.{{ key_of(dimension) }}
        and new_versions.valid_from = dim.valid_from
        and new_versions.attribute_hash = dim.attribute_hash
)
order by natural_key, valid_from;

-- Facts of the changed keys point at the version valid at their transaction time again: facts
-- on any version of a changed key, and facts on the unknown member whose order names one, from
-- the instant the key's versions differ (a fact's date is its transaction's UTC date, so the
-- dates before that instant's are not read).
create temporary table refreshed_facts on commit drop as
with facts as (
    select facts.transaction_id, facts.line_number, facts.date_key, facts.transaction_ts,
           facts.{{ surrogate_key }} as old_key, dim.{{ key_of(dimension) }} as natural_key
    from warehouse.fact_sales as facts
    inner join warehouse.{{ dimension }} as dim using ({{ surrogate_key }})
    inner join changed_since as changed on changed.natural_key = dim.{{ key_of(dimension) }}
    where facts.transaction_ts >= changed.changed_at and facts.date_key >= {{ changed_since_date_key() }}
    union all
    select facts.transaction_id, facts.line_number, facts.date_key, facts.transaction_ts,
           facts.{{ surrogate_key }}, changed.natural_key
    from warehouse.fact_sales as facts
    inner join changed_since as changed on changed.natural_key = ({{ unknown_member_key }})
    where facts.{{ surrogate_key }} = -1
        and facts.transaction_ts >= changed.changed_at and facts.date_key >= {{ changed_since_date_key() }}
)

select
    facts.*,
    coalesce((
        select dim.{{ surrogate_key }}
        from warehouse.{{ dimension }} as dim
        where dim.{{ key_of(dimension) }} = facts.natural_key
            and facts.transaction_ts >= dim.valid_from and facts.transaction_ts < dim.valid_to
            and dim.{{ surrogate_key }} not in (select {{ surrogate_key }} from replaced_versions)
    ), -1) as new_key
from facts;

update warehouse.fact_sales as facts
set {{ surrogate_key }} = refreshed.new_key
from refreshed_facts as refreshed
where (facts.transaction_id, facts.line_number, facts.date_key)
        = (refreshed.transaction_id, refreshed.line_number, refreshed.date_key)
    and refreshed.old_key <> refreshed.new_key;

insert into warehouse.stale_dates (model, business_date)
select distinct models.model, to_date(refreshed.date_key::text, 'YYYYMMDD')
from refreshed_facts as refreshed
-- both versions are still there: the replaced ones go below
inner join warehouse.{{ dimension }} as old_version on old_version.{{ surrogate_key }} = refreshed.old_key
inner join warehouse.{{ dimension }} as new_version on new_version.{{ surrogate_key }} = refreshed.new_key
cross join (values
    {%- for model in stale_models + stale_models_by_key %}
    ('{{ model }}', {{ 'true' if loop.index > stale_models | length else 'false' }}){{ ',' if not loop.last }}
    {%- endfor %}
) as models (model, by_key)
where refreshed.old_key <> refreshed.new_key
    and case
        when models.by_key then (refreshed.old_key = -1) <> (refreshed.new_key = -1)
        else old_version.attribute_hash <> new_version.attribute_hash
    end
on conflict do nothing;

delete from warehouse.{{ dimension }}
where {{ surrogate_key }} in (select {{ surrogate_key }} from replaced_versions);

-- What fact_sales' (not enforced) foreign key states: no fact is left on a deleted version.
select audit.assert(
    not exists (select from warehouse.fact_sales
                where {{ surrogate_key }} in (select {{ surrogate_key }} from replaced_versions)),
    'a fact points at a deleted {{ dimension }} version')
{%- endmacro %}


{#- The date key of the earliest instant in changed_since: a value known when the statement
    runs, so fact_sales' date partitions before it are never read. -#}
{% macro changed_since_date_key() -%}
(select min(to_char(changed_at at time zone 'UTC', 'YYYYMMDD')::integer) from changed_since)
{%- endmacro %}


{% macro take_stale_dates(model) -%}
-- The dates to recompute: the business date, and those a load of another date made stale for
-- this model (taken: cleared as they are read), as `date` and `date_key`.
create temporary table recomputed_dates on commit drop as
with taken as (
    delete from warehouse.stale_dates where model = '{{ model }}' returning business_date
)
select date, to_char(date, 'YYYYMMDD')::integer as date_key
from (select business_date as date from taken union select %(business_date)s::date) as dates;

analyze recomputed_dates;  -- one date or a few: planned as such, facts are read by date
{%- endmacro %}


{#- The condition that a fact's date key (`column`) is one of the recomputed dates, with their
    bounds (`recomputed_date_bounds`). -#}
{% macro in_recomputed_dates(column) -%}
{{ column }} in (select date_key from recomputed_dates)
    and {{ recomputed_date_bounds(column) }}
{%- endmacro %}


{#- A date key (`column`) between the least and the greatest recomputed date: values of
    subqueries, known when the statement runs, so fact_sales' date partitions outside them are
    never read (the dates joined or listed alone are planned as a join over all of them). -#}
{% macro recomputed_date_bounds(column) -%}
{{ column }} between (select min(date_key) from recomputed_dates) and (select max(date_key) from recomputed_dates)
{%- endmacro %}


{#- The date key of the first completed fact of the customer `customer_id` (an expression). -#}
{% macro first_completed_date_key(customer_id) -%}
select min(facts.date_key)
from warehouse.fact_sales as facts
inner join warehouse.dim_customers as dim using (customer_sk)
where dim.customer_id = {{ customer_id }} and facts.status = 'completed'
{%- endmacro %}


{% macro key_of(dimension) -%}
{{ {'dim_customers': 'customer_id', 'dim_products': 'product_id'}[dimension] }}
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
