-- warehouse.dim_customers: SCD Type 2 over production.customers. A change in a tracked
-- attribute (seen through attribute_hash) closes the current version at the source's
-- updated_at and opens a new one from there. An unchanged customer gets no new version, so
-- re-running a date changes nothing. A key's first version is valid from its updated_at or
-- the start of the business date it first arrived in, whichever is earlier, so orders of that
-- day placed before a same-day change still find it.
create temporary table customer_changes on commit drop as
with source as (
    select
        customer_id, first_name, last_name, email, city, state, country, signup_date, updated_at,
        md5(concat_ws('|', first_name, last_name, email, city, state, country, signup_date)) as attribute_hash
    from production.customers
)

select source.*, current_version.customer_sk as current_sk
from source
left join warehouse.dim_customers as current_version
    on current_version.customer_id = source.customer_id and current_version.is_current
where current_version.customer_sk is null
    or (current_version.attribute_hash <> source.attribute_hash
        and source.updated_at > current_version.valid_from);

update warehouse.dim_customers as dim
set valid_to = changes.updated_at, is_current = false
from customer_changes as changes
where dim.customer_sk = changes.current_sk;

insert into warehouse.dim_customers (
    customer_id, first_name, last_name, email, city, state, country, signup_date,
    attribute_hash, valid_from, valid_to, is_current
)
select
    customer_id, first_name, last_name, email, city, state, country, signup_date,
    attribute_hash,
    case
        when current_sk is null then least(updated_at, %(business_date)s::date::timestamp at time zone 'UTC')
        else updated_at
    end,
    'infinity',
    true
from customer_changes
order by customer_id;
