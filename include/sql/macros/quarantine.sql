{#- Rejected rows of a production model's batch, into quarantine.rejected_rows. -#}

{#- The rows of `batch` with a reject_reason, each with its staged row as JSON (built for these
    rows only: the staged row is found again by its line, not carried through the model), and
    the business key `record_key` (a column of `batch`) where the table has one. -#}
{% macro quarantine_rejected(table, batch, record_key=none) -%}
insert into quarantine.rejected_rows
    (source_table, batch_date, source_file, source_line, stage, reason, raw_record
     {{- ', record_key' if record_key }})
select
    '{{ table }}', %(business_date)s, batch.source_file, batch.source_line, 'production', batch.reject_reason,
    row_to_json(staged)::text
    {{- ', batch.' ~ record_key if record_key }}
from {{ batch }} as batch
left join staging.{{ table }} as staged
    on staged.batch_date = %(business_date)s and staged.source_line = batch.source_line
where batch.reject_reason is not null
{%- endmacro %}
