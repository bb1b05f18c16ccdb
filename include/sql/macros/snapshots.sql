{#-
    The loaded snapshots of a source whose every file lists all of its keys (customers,
    products): each date's snapshot replaced and tracked in production, and the keys whose
    history it changes queued for the dimension (production.changed_keys; macros/scd2.sql
    rebuilds their versions). Customers and products differ only in the arguments. Any set of
    business dates, loaded in any order, gives the same tables as loading them oldest first.
-#}

{% import 'macros/keys.sql' as keys %}


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


{#- named_by: the production table whose rows name a key (column `key`): a key no snapshot shows
    any more stays while a row of it names the key. -#}
{% macro track_snapshot(table, snapshots, key, columns, named_by) -%}
-- Keys whose lines were all quarantined still exist: bad data is not a deletion.
insert into production.{{ snapshots }} (batch_date, {{ key }}, source_file, source_line)
select distinct on (trim(record_key)::bigint)
    %(business_date)s, trim(record_key)::bigint, source_file, source_line
from quarantine.rejected_rows
where source_table = '{{ table }}' and batch_date = %(business_date)s
    and {{ keys.is_key('record_key') }}
order by trim(record_key)::bigint, source_line
on conflict (batch_date, {{ key }}) do nothing;

-- A quarantined line whose key could not be read might be any key: the snapshot's absences
-- then prove nothing, and no deletion is inferred from this date.
insert into production.snapshot_dates (table_name, batch_date, keys_complete)
select '{{ table }}', %(business_date)s, not exists (
    select from quarantine.rejected_rows
    where source_table = '{{ table }}' and batch_date = %(business_date)s
        and not {{ keys.is_key('record_key') }}
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
    and not exists (select from {{ named_by }} where {{ key }} = target.{{ key }});

-- The dimension step rebuilds these keys' versions.
insert into production.changed_keys (table_name, natural_key)
select '{{ table }}', natural_key from changed_keys where natural_key is not null
on conflict do nothing
{%- endmacro %}
