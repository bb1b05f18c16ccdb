{#- Planner statistics that are missing or stale when a model needs them. -#}

{#- ANALYZE each of `tables` that was never analyzed, or that changed by more than a fifth since
    it was. Autovacuum does the same, but up to a minute later: a first load, or a backfill
    running date after date, would otherwise plan on a table it thinks empty (a nested loop
    over every fact for every customer: a minute instead of a tenth of a second). A partitioned
    table's partitions are looked at each, at every level; the partitioned table itself
    (statistics over all its partitions, which autovacuum never gathers) when never analyzed, or
    when its partitions have grown by a fifth since it was, and ONLY itself: its partitions were
    just looked at. -#}
{% macro analyze_if_stale(tables) -%}
do $$
declare
    stale regclass;
begin
    for stale in
        with listed (relid) as (
            values {% for table in tables %}('{{ table }}'::regclass){{ ', ' if not loop.last }}{% endfor %}
        ),

        candidates as (  -- (the partition tree of a table that is not partitioned is empty)
            select relid, 0 as level from listed
            union
            select tree.relid, tree.level from listed cross join lateral pg_partition_tree(listed.relid) as tree
        )

        select class.oid::regclass
        from candidates
        inner join pg_class as class on class.oid = candidates.relid
        left join pg_stat_user_tables as stats on stats.relid = class.oid
        where case
            when class.relkind = 'p' then
                class.reltuples < 0 or 1.2 * greatest(class.reltuples, 1000) < (
                    select sum(greatest(partition.reltuples, 0))
                    from pg_inherits as inherits
                    inner join pg_class as partition on partition.oid = inherits.inhrelid
                    where inherits.inhparent = class.oid)
            else coalesce(stats.last_analyze, stats.last_autoanalyze) is null
                or stats.n_mod_since_analyze > 0.2 * greatest(class.reltuples, 1000)
        end
        order by candidates.level desc  -- partitions before their table
    loop
        execute 'analyze only ' || stale::text;
    end loop;
end
$$
{%- endmacro %}
