{#- A source's key as the contract states it: a positive whole number, surrounded by blanks or not. -#}

{% macro is_key(text) -%}
case when pg_input_is_valid(trim({{ text }}), 'bigint') then trim({{ text }})::bigint > 0 else false end
{%- endmacro %}
