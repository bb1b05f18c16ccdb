{#- Copies of one record in one file: identical ones collapse, copies that disagree are all
    quarantined (no copy is more right than another). -#}

{#- The rows of `source` with their keys (`keys`: name and expression pairs; null for a row
    with a type_reason, so no cast meets a value that failed its type), `conflicting`: true
    when a valid row shares its key with a valid row of other `content`, and `superseded`: true
    for a valid row whose key a later valid row of the file (a greater source_line) has too,
    so that one row of each key is kept without sorting every row by its key (an identical
    copy collapses into the last; copies that disagree are all quarantined, whichever is
    last). The content is built for shared keys only: most keys are not shared, and grouping
    by a key is cheaper than sorting every row by it. -#}
{% macro flag_conflicting_copies(source, keys, content) -%}
{%- set names = keys | map(attribute=0) | list -%}
{%- set guarded -%}
{% for name, expression in keys %}{{ guard(expression) }}{{ ', ' if not loop.last }}{% endfor %}
{%- endset -%}
select
    keyed.*,
    coalesce(shared.conflicting, false) as conflicting,
    coalesce(keyed.source_line < shared.last_line, false) as superseded
from (
    select
        *,
        {%- for name, expression in keys %}
        {{ guard(expression) }} as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ source }}
) as keyed
left join (
    select
        {%- for name, expression in keys %}
        {{ guard(expression) }} as {{ name }},
        {%- endfor %}
        min(content) <> max(content) as conflicting,
        max(source_line) as last_line
    from (
        select *, {{ guard("concat_ws('|', " ~ content | join(', ') ~ ")") }} as content
        from {{ source }}
    ) as copies
    where type_reason is null
        and ({{ guarded }}) in (
            select {{ guarded }}
            from {{ source }}
            where type_reason is null
            group by {{ guarded }}
            having count(*) > 1
        )
    group by {{ guarded }}
) as shared
    on {% for name in names %}shared.{{ name }} = keyed.{{ name }}{{ ' and ' if not loop.last }}{% endfor %}
{%- endmacro %}


{#- `expression` for a row without a type_reason, else null. -#}
{% macro guard(expression) -%}
case when type_reason is null then {{ expression }} end
{%- endmacro %}
