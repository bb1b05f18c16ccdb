-- production.transactions: the date's orders, typed and checked against the contract (a
-- transaction file carries that day's orders only; the customer is in the same date's
-- snapshot, so the check does not depend on which other dates are loaded).
-- The date's orders are replaced as a whole, their lines with them (060_transaction_items
-- loads those again).
-- Identical copies of an order collapse into one; copies that disagree are all quarantined
-- (conflicting_duplicate): no copy is more right than another.
{% import 'macros/quarantine.sql' as quarantine %}
{% import 'macros/keys.sql' as keys %}
{% import 'macros/snapshots.sql' as snapshots %}
{% import 'macros/copies.sql' as copies %}
{% import 'macros/date_orders.sql' as orders %}
{% import 'macros/parallel.sql' as parallel %}

delete from quarantine.rejected_rows
where source_table = 'transactions' and batch_date = %(business_date)s and stage = 'production';

{{ orders.remember_order_range() }};

delete from production.transaction_items
where {{ orders.of_date_orders('transaction_id') | indent(4) }};

delete from production.transactions where batch_date = %(business_date)s;

{{ parallel.price_rows_for_parallel_builds() }};

create temporary table transactions_batch on commit drop as
with source as (
    select * from staging.transactions where batch_date = %(business_date)s
),

cleaned as (
    select
        source_file,
        source_line,
        trim(transaction_id) as transaction_id,
        trim(customer_id) as customer_id,
        trim(transaction_ts) as transaction_ts,
        lower(trim(channel)) as channel,
        lower(trim(payment_method)) as payment_method,
        lower(trim(status)) as status,
        trim(shipping_cost) as shipping_cost
    from source
),

-- Typed once: the checks below read these rows three times.
typed as materialized (
    select
        *,
        case
            when nullif(transaction_id, '') is null or nullif(customer_id, '') is null
                or nullif(transaction_ts, '') is null or nullif(channel, '') is null
                or nullif(payment_method, '') is null or nullif(status, '') is null
                or nullif(shipping_cost, '') is null
                then 'missing_required_value'
            when not {{ keys.is_key('transaction_id') }} then 'invalid_transaction_id'
            when not {{ keys.is_key('customer_id') }} then 'invalid_customer_id'
            when not pg_input_is_valid(transaction_ts, 'timestamptz') then 'invalid_timestamp'
            when not pg_input_is_valid(shipping_cost, 'numeric(12,2)') then 'invalid_number'
            when shipping_cost::numeric < 0 then 'negative_amount'
            when status not in ('completed', 'cancelled', 'returned', 'pending') then 'invalid_status'
            when (transaction_ts::timestamptz at time zone 'UTC')::date <> %(business_date)s
                then 'outside_business_date'
        end as type_reason
    from cleaned
),

copies as (
    {{ copies.flag_conflicting_copies(
        'typed', [('order_key', 'transaction_id::bigint')],
        ['customer_id::bigint', 'transaction_ts::timestamptz', 'channel', 'payment_method', 'status',
         'shipping_cost::numeric']) | indent(4) }}
),

checked as (
    select
        typed.*,
        coalesce(
            typed.type_reason,
            case
                when typed.conflicting then 'conflicting_duplicate'
                {{ snapshots.snapshot_reference('customer_snapshots', 'customer_id', 'customer') | indent(16) }}
                when loaded.transaction_id is not null then 'transaction_id_of_another_date'
            end
        ) as reject_reason
    from copies as typed
    {{ snapshots.snapshot_join('customer_snapshots', 'customer_id',
                               copies.guard('typed.customer_id::bigint')) | indent(4) }}
    -- (within the batch's own ids: the primary key looks there, where the ids alone are planned
    -- as a scan of every date's orders)
    left join production.transactions as loaded
        on loaded.transaction_id = typed.order_key
        and loaded.transaction_id between (select min({{ copies.guard('transaction_id::bigint') }}) from typed)
            and (select max({{ copies.guard('transaction_id::bigint') }}) from typed)
)

select * from checked;

{{ quarantine.quarantine_rejected('transactions', 'transactions_batch') }};

insert into audit.duplicates_collapsed (business_date, table_name, rows_collapsed)
select %(business_date)s, 'transactions', count(*)
from transactions_batch
where reject_reason is null and superseded
on conflict (business_date, table_name) do update set rows_collapsed = excluded.rows_collapsed;

insert into production.transactions (
    transaction_id, customer_id, transaction_ts, channel, payment_method, status,
    shipping_cost, batch_date
)
select
    order_key,
    customer_id::bigint,
    transaction_ts::timestamptz,
    channel,
    payment_method,
    status,
    shipping_cost::numeric(12, 2),
    %(business_date)s
from transactions_batch
where reject_reason is null and not superseded
order by order_key;
