-- production.customers: the date's customer snapshot, typed and cleaned, upserted by
-- customer_id. A newer updated_at wins; an older one never overwrites. Rows that cannot be
-- typed are quarantined with a reason; duplicates of a key collapse to the latest version.
delete from quarantine.rejected_rows
where source_table = 'customers' and batch_date = %(business_date)s and stage = 'production';

create temporary table customers_batch on commit drop as
with source as (
    select * from staging.customers where batch_date = %(business_date)s
),

cleaned as (
    select
        source_file,
        source_line,
        customer_id,
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
        trim(updated_at) as updated_at,
        row_to_json(source)::text as raw_record
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
            when not pg_input_is_valid(customer_id, 'bigint') then 'invalid_customer_id'
            when email !~ '^[^@[:space:]]+@[^@[:space:]]+\.[a-z]{2,}$' then 'invalid_email'
            when country !~ '^[A-Z]{2}$' then 'invalid_country'
            when not pg_input_is_valid(signup_date, 'date') then 'invalid_date'
            when not pg_input_is_valid(updated_at, 'timestamptz') then 'invalid_timestamp'
        end as reject_reason
    from cleaned
)

select * from checked;

insert into quarantine.rejected_rows
    (source_table, batch_date, source_file, source_line, stage, reason, raw_record)
select 'customers', %(business_date)s, source_file, source_line, 'production', reject_reason, raw_record
from customers_batch
where reject_reason is not null;

insert into audit.duplicates_collapsed (business_date, table_name, rows_collapsed)
select %(business_date)s, 'customers', count(*) - count(distinct customer_id::bigint)
from customers_batch
where reject_reason is null
on conflict (business_date, table_name) do update set rows_collapsed = excluded.rows_collapsed;

-- A customer missing from the date's snapshot was deleted at the source. Any staged row counts
-- as present, even one quarantined for a bad value: bad data is not a deletion.
update production.customers as target
set deleted_on = %(business_date)s
where target.deleted_on is null
    and exists (select from staging.customers where batch_date = %(business_date)s)
    -- only the newest snapshot says what exists now; re-running an older date deletes nothing
    and %(business_date)s >= (select coalesce(max(last_batch_date), '-infinity') from production.customers)
    and not exists (
        select from staging.customers as snapshot
        where snapshot.batch_date = %(business_date)s
            and pg_input_is_valid(trim(snapshot.customer_id), 'bigint')
            and trim(snapshot.customer_id)::bigint = target.customer_id
    );

insert into production.customers as target (
    customer_id, first_name, last_name, email, phone, address, city, state, postal_code,
    country, signup_date, updated_at, last_batch_date
)
select distinct on (customer_id::bigint)
    customer_id::bigint,
    case when first_name in (upper(first_name), lower(first_name)) then initcap(first_name) else first_name end,
    case when last_name in (upper(last_name), lower(last_name)) then initcap(last_name) else last_name end,
    email,
    phone,
    address,
    city,
    state,
    postal_code,
    country,
    signup_date::date,
    updated_at::timestamptz,
    %(business_date)s
from customers_batch
where reject_reason is null
order by customer_id::bigint, updated_at::timestamptz desc, source_line desc
on conflict (customer_id) do update set
    first_name = excluded.first_name,
    last_name = excluded.last_name,
    email = excluded.email,
    phone = excluded.phone,
    address = excluded.address,
    city = excluded.city,
    state = excluded.state,
    postal_code = excluded.postal_code,
    country = excluded.country,
    signup_date = excluded.signup_date,
    updated_at = excluded.updated_at,
    last_batch_date = greatest(target.last_batch_date, excluded.last_batch_date),
    -- back in a snapshot newer than the one that missed it: live again
    deleted_on = case when target.deleted_on < excluded.last_batch_date then null else target.deleted_on end
where target.updated_at <= excluded.updated_at;
