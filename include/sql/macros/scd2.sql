{#-
    SCD Type 2 dimensions rebuilt from the loaded snapshots (macros/snapshots.sql): the versions
    of the keys a snapshot load changed, merged into the dimension (unchanged versions keep
    their surrogate key), facts re-pointed to the version valid at their transaction time and
    the dates whose facts moved made stale (macros/stale_dates.sql). Customers and products
    differ only in the arguments. Any set of business dates, loaded in any order, gives the
    same versions as loading them oldest first.

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


{#- natural_key: the dimension's natural key column (its snapshots' key).
    stale_models: the models whose rows depend on the attributes of the version a fact points
    at (a fact re-pointed to a version with other attributes makes its date stale for them; one
    re-pointed only because a version's validity moved, to the same attributes, does not);
    stale_models_by_key: those that depend only on the natural key it counts under, which changes
    only when a fact moves to or from the unknown member (a move between versions stays within
    one key). -#}
{% macro merge_versions(dimension, natural_key, surrogate_key, columns, source, unknown_member_key, stale_models,
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
where dim.{{ natural_key }} in (select natural_key from rebuilt_keys)
    and not exists (
        select from new_versions
        where new_versions.natural_key = dim.{{ natural_key }}
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
    select dim.{{ natural_key }} as natural_key, dim.valid_from as changed_at
    from warehouse.{{ dimension }} as dim
    where dim.{{ surrogate_key }} in (select {{ surrogate_key }} from replaced_versions)
    union all
    select
        new_versions.natural_key,
        case when dim.{{ surrogate_key }} is null then new_versions.valid_from
            else least(dim.valid_to, new_versions.valid_to) end
    from new_versions
    left join warehouse.{{ dimension }} as dim
        on dim.{{ natural_key }} = new_versions.natural_key
            and dim.valid_from = new_versions.valid_from
            and dim.attribute_hash = new_versions.attribute_hash
    where dim.{{ surrogate_key }} is null or dim.valid_to <> new_versions.valid_to
) as changes
group by natural_key;

analyze changed_since;

-- The date key of its earliest instant, a parameter of the statements after this one
-- (ecommerce.models.bound_results): fact_sales' partitions before it are neither opened nor
-- planned by the statements that re-point facts, and none is when no version changed (null).
select warehouse.date_key(min(changed_at at time zone 'UTC')::date) as changed_since_date_key from changed_since;

update warehouse.{{ dimension }}
set is_current = false
where {{ natural_key }} in (select natural_key from rebuilt_keys) and is_current;

update warehouse.{{ dimension }} as dim
set valid_to = new_versions.valid_to, is_current = new_versions.is_current
from new_versions
where new_versions.natural_key = dim.{{ natural_key }}
    and new_versions.valid_from = dim.valid_from
    and new_versions.attribute_hash = dim.attribute_hash;

insert into warehouse.{{ dimension }} (
    {{ natural_key }}, {{ columns | join(', ') }}, attribute_hash, valid_from, valid_to, is_current
)
select natural_key, {{ columns | join(', ') }}, attribute_hash, valid_from, valid_to, is_current
from new_versions
where not exists (
    select from warehouse.{{ dimension }} as dim
    where new_versions.natural_key = dim.{{ natural_key }}
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
           facts.{{ surrogate_key }} as old_key, dim.{{ natural_key }} as natural_key
    from warehouse.fact_sales as facts
    inner join warehouse.{{ dimension }} as dim using ({{ surrogate_key }})
    inner join changed_since as changed on changed.natural_key = dim.{{ natural_key }}
    where facts.transaction_ts >= changed.changed_at and facts.date_key >= %(changed_since_date_key)s::integer
    union all
    select facts.transaction_id, facts.line_number, facts.date_key, facts.transaction_ts,
           facts.{{ surrogate_key }}, changed.natural_key
    from warehouse.fact_sales as facts
    inner join changed_since as changed on changed.natural_key = ({{ unknown_member_key }})
    where facts.{{ surrogate_key }} = -1
        and facts.transaction_ts >= changed.changed_at and facts.date_key >= %(changed_since_date_key)s::integer
)

select
    facts.*,
    coalesce((
        select dim.{{ surrogate_key }}
        from warehouse.{{ dimension }} as dim
        where dim.{{ natural_key }} = facts.natural_key
            and facts.transaction_ts >= dim.valid_from and facts.transaction_ts < dim.valid_to
            and dim.{{ surrogate_key }} not in (select {{ surrogate_key }} from replaced_versions)
    ), -1) as new_key
from facts;

-- (Every refreshed fact is of the earliest changed date or later: the condition on it leaves the
-- other partitions out as the update is planned.)
update warehouse.fact_sales as facts
set {{ surrogate_key }} = refreshed.new_key
from refreshed_facts as refreshed
where (facts.transaction_id, facts.line_number, facts.date_key)
        = (refreshed.transaction_id, refreshed.line_number, refreshed.date_key)
    and refreshed.old_key <> refreshed.new_key
    and facts.date_key >= %(changed_since_date_key)s::integer;

{% if stale_models or stale_models_by_key -%}
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
{%- endif %}

delete from warehouse.{{ dimension }}
where {{ surrogate_key }} in (select {{ surrogate_key }} from replaced_versions);

-- What fact_sales' (not enforced) foreign key states: no fact is left on a deleted version.
select audit.assert(
    not exists (select from warehouse.fact_sales
                where {{ surrogate_key }} in (select {{ surrogate_key }} from replaced_versions)),
    'a fact points at a deleted {{ dimension }} version')
{%- endmacro %}

