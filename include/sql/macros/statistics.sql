{#- Planner statistics that are missing or stale when a model needs them. -#}

{#- ANALYZE each of `tables` that was never analyzed, or that changed by more than a fifth since
    it was. Autovacuum does the same, but up to a minute later: a first load, or a backfill
    running date after date, would otherwise plan on a table it thinks empty (a nested loop
    over every fact for every customer: a minute instead of a tenth of a second). -#}
{% macro analyze_if_stale(tables) -%}
do $$
declare
    stale regclass;
begin
    for stale in
        select stats.relid::regclass
        from pg_stat_user_tables as stats
        inner join pg_class as class on class.oid = stats.relid
        where stats.relid in ({% for table in tables %}'{{ table }}'::regclass{{ ', ' if not loop.last }}{% endfor %})
            and (coalesce(stats.last_analyze, stats.last_autoanalyze) is null
                 or stats.n_mod_since_analyze > 0.2 * greatest(class.reltuples, 1000))
    loop
        execute 'analyze ' || stale::text;
    end loop;
end
$$
{%- endmacro %}
