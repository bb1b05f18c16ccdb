-- production.transaction_items: the lines of the date's orders, typed and checked against
-- production.transactions and the same date's product snapshot. Lines whose order was rejected are
-- rejected too, so no line is lost without a reason. Identical copies of a line collapse; copies
-- that disagree are all quarantined (conflicting_duplicate).
{% import 'macros/quarantine.sql' as quarantine %}
{% import 'macros/copies.sql' as copies %}
{% import 'macros/snapshots.sql' as snapshots %}
{% import 'macros/date_orders.sql' as orders %}
{% import 'macros/statistics.sql' as statistics %}
{% import 'macros/parallel.sql' as parallel %}

delete from quarantine.rejected_rows
where source_table = 'transaction_items' and batch_date = %(business_date)s and stage = 'production';

{{ orders.remember_order_range() }};

-- The date's lines are replaced as a whole (a cleared task reruns on its own, too).
delete from production.transaction_items
where {{ orders.of_date_orders('transaction_id') | indent(4) }};

{{ parallel.price_rows_for_parallel_builds() }};

create temporary table transaction_items_batch on commit drop as
with source as (
    select * from staging.transaction_items where batch_date = %(business_date)s
),

cleaned as (
    select
        source_file,
        source_line,
        trim(transaction_id) as transaction_id,
        trim(line_number) as line_number,
        trim(product_id) as product_id,
        trim(quantity) as quantity,
        trim(unit_price) as unit_price,
        coalesce(nullif(trim(discount), ''), '0') as discount
    from source
),

-- Typed once: the checks below read these rows three times.
typed as materialized (
    select
        *,
        case
            when nullif(transaction_id, '') is null or nullif(line_number, '') is null
                or nullif(product_id, '') is null or nullif(quantity, '') is null
                or nullif(unit_price, '') is null
                then 'missing_required_value'
            when not pg_input_is_valid(transaction_id, 'bigint')
                or not pg_input_is_valid(line_number, 'integer')
                or not pg_input_is_valid(product_id, 'bigint')
                or not pg_input_is_valid(quantity, 'integer')
                or not pg_input_is_valid(unit_price, 'numeric(12,2)')
                or not pg_input_is_valid(discount, 'numeric(5,4)')
                then 'invalid_number'
            when quantity::integer <= 0 then 'non_positive_quantity'
            when unit_price::numeric < 0 then 'negative_price'
            when discount::numeric < 0 or discount::numeric >= 1 then 'invalid_discount'
            when line_number::integer <= 0 then 'invalid_line_number'
        end as type_reason
    from cleaned
),

copies as (
    {{ copies.flag_conflicting_copies(
        'typed', [('order_key', 'transaction_id::bigint'), ('line_key', 'line_number::integer')],
        ['product_id::bigint', 'quantity::integer', 'unit_price::numeric', 'discount::numeric']) | indent(4) }}
),

checked as (
    select
        typed.*,
        coalesce(
            typed.type_reason,
            case
                when typed.conflicting then 'conflicting_duplicate'
                when transactions.transaction_id is null then 'unknown_or_rejected_transaction'
                {{ snapshots.snapshot_reference('product_snapshots', 'product_id', 'product') | indent(16) }}
            end
        ) as reject_reason
    from copies as typed
    left join production.transactions as transactions
        on transactions.transaction_id = typed.order_key and transactions.batch_date = %(business_date)s
    {{ snapshots.snapshot_join('product_snapshots', 'product_id',
                               copies.guard('typed.product_id::bigint')) | indent(4) }}
)

select * from checked;

{{ quarantine.quarantine_rejected('transaction_items', 'transaction_items_batch') }};

insert into audit.duplicates_collapsed (business_date, table_name, rows_collapsed)
select %(business_date)s, 'transaction_items', count(*)
from transaction_items_batch
where reject_reason is null and superseded
on conflict (business_date, table_name) do update set rows_collapsed = excluded.rows_collapsed;

insert into production.transaction_items (
    transaction_id, line_number, product_id, quantity, unit_price, discount
)
select
    order_key,
    line_key,
    product_id::bigint,
    quantity::integer,
    unit_price::numeric(12, 2),
    discount::numeric(5, 4)
from transaction_items_batch
where reject_reason is null and not superseded
order by order_key, line_key;

-- The next models read the date's lines by their id range, estimated from these statistics (a
-- table never analyzed would have a million lines planned as a few thousand).
{{ statistics.analyze_if_stale(['production.transactions', 'production.transaction_items']) }};
