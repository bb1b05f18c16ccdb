-- production.customers: the date's customer snapshot, typed and cleaned. Every loaded snapshot
-- is kept in production.customer_snapshots; production.customers is derived from them (the
-- newest updated_at wins; deleted when a later complete snapshot lacks the customer), so dates
-- load in any order. Rows that cannot be typed are quarantined with a reason; duplicates of a
-- key in one file collapse to the latest version.
{% import 'macros/quarantine.sql' as quarantine %}
{% import 'macros/keys.sql' as keys %}
{% import 'macros/snapshots.sql' as snapshots %}
{% import 'macros/parallel.sql' as parallel %}

delete from quarantine.rejected_rows
where source_table = 'customers' and batch_date = %(business_date)s and stage = 'production';

{{ parallel.price_rows_for_parallel_builds() }};

create temporary table customers_batch on commit drop as
with source as (
    select * from staging.customers where batch_date = %(business_date)s
),

cleaned as (
    select
        source_file,
        source_line,
        trim(customer_id) as customer_id,
        regexp_replace(trim(first_name), '\s+', ' ', 'g') as first_name,
        regexp_replace(trim(last_name), '\s+', ' ', 'g') as last_name,
        lower(trim(email)) as email,
        nullif(regexp_replace(phone, '[^0-9+x]', '', 'g'), '') as phone,
        nullif(trim(address), '') as address,
        nullif(trim(city), '') as city,
        nullif(trim(state), '') as state,
        nullif(trim(postal_code), '') as postal_code,
        upper(trim(country)) as country,
        trim(signup_date) as signup_date,
        trim(updated_at) as updated_at
    from source
),

checked as (
    select
        *,
        case
            when nullif(customer_id, '') is null or nullif(first_name, '') is null
                or nullif(last_name, '') is null or nullif(email, '') is null
                or nullif(country, '') is null or nullif(signup_date, '') is null
                or nullif(updated_at, '') is null
                then 'missing_required_value'
            when not {{ keys.is_key('customer_id') }} then 'invalid_customer_id'
            when email !~ '^[^@[:space:]]+@[^@[:space:]]+\.[a-z]{2,}$' then 'invalid_email'
            when country !~ '^[A-Z]{2}$' then 'invalid_country'
            when not pg_input_is_valid(signup_date, 'date') then 'invalid_date'
            when not pg_input_is_valid(updated_at, 'timestamptz') then 'invalid_timestamp'
        end as reject_reason
    from cleaned
)

select * from checked;

{{ quarantine.quarantine_rejected('customers', 'customers_batch', 'customer_id') }};

insert into audit.duplicates_collapsed (business_date, table_name, rows_collapsed)
select %(business_date)s, 'customers', count(*) - count(distinct customer_id::bigint)
from customers_batch
where reject_reason is null
on conflict (business_date, table_name) do update set rows_collapsed = excluded.rows_collapsed;

{{ snapshots.replace_snapshot('customers', 'customer_snapshots', 'customer_id') }};

insert into production.customer_snapshots (
    batch_date, customer_id, first_name, last_name, email, phone, address, city, state, postal_code,
    country, signup_date, updated_at, attribute_hash, row_hash, source_file, source_line
)
with typed as (
    select distinct on (customer_id::bigint)
        customer_id::bigint as customer_id,
        case when first_name in (upper(first_name), lower(first_name)) then initcap(first_name) else first_name end
            as first_name,
        case when last_name in (upper(last_name), lower(last_name)) then initcap(last_name) else last_name end
            as last_name,
        email,
        phone,
        address,
        city,
        state,
        postal_code,
        country,
        signup_date::date as signup_date,
        updated_at::timestamptz as updated_at,
        source_file,
        source_line
    from customers_batch
    where reject_reason is null
    order by customer_id::bigint, updated_at::timestamptz desc, source_line desc
)

select
    %(business_date)s,
    customer_id,
    first_name,
    last_name,
    email,
    phone,
    address,
    city,
    state,
    postal_code,
    country,
    signup_date,
    updated_at,
    md5(concat_ws('|', first_name, last_name, email, city, state, country, signup_date)),
    md5(concat_ws('|', first_name, last_name, email, phone, address, city, state, postal_code, country,
                  signup_date, updated_at)),
    source_file,
    source_line
from typed;

{{ snapshots.track_snapshot('customers', 'customer_snapshots', 'customer_id',
                            ['first_name', 'last_name', 'email', 'phone', 'address', 'city', 'state',
                             'postal_code', 'country', 'signup_date', 'updated_at'],
                            named_by='production.transactions') }};
