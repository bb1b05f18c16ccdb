{#- Copies of one record in one file: identical ones collapse, copies that disagree are all
    quarantined (no copy is more right than another). -#}

{#- The rows of `source` with `conflicting`: true when a valid row (type_reason null) shares
    its key (`keys`: name and expression pairs) with a valid row of other `content`. -#}
{% macro flag_conflicting_copies(source, keys, content) -%}
select
    *,
    min(content) over same_key <> max(content) over same_key as conflicting
from (
    select
        *,
        {%- for name, expression in keys %}
        case when type_reason is null then {{ expression }} end as {{ name }},
        {%- endfor %}
        case when type_reason is null then concat_ws('|', {{ content | join(', ') }}) end as content
    from {{ source }}
) as keyed
window same_key as (partition by {{ keys | map(attribute=0) | join(', ') }})
{%- endmacro %}
