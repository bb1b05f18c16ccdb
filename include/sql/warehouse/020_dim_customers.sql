-- warehouse.dim_customers: SCD Type 2 over production.customers.
--
-- * A change in a tracked attribute (seen through attribute_hash) closes the current version
--   at the source's updated_at and opens a new one from there.
-- * An unchanged customer gets no new version, so re-running a date changes nothing.
-- * A customer deleted at the source (missing from a snapshot) has its current version closed
--   at the end of the business date that noticed; it keeps no current row. If it comes back,
--   a new version opens where the closed one ended.
-- * A key's first version is valid from its updated_at or the start of the business date it
--   first arrived in, whichever is earlier, so that day's orders placed before a same-day
--   change still find it.
-- valid_to = 'infinity' marks the open version.
update warehouse.dim_customers as dim
set valid_to = greatest((customers.deleted_on + 1)::timestamp at time zone 'UTC', dim.valid_from + interval '1 second'),
    is_current = false
from production.customers as customers
where dim.customer_id = customers.customer_id
    and dim.is_current
    and customers.deleted_on is not null;

create temporary table customer_changes on commit drop as
with source as (
    select
        customer_id, first_name, last_name, email, city, state, country, signup_date, updated_at,
        md5(concat_ws('|', first_name, last_name, email, city, state, country, signup_date)) as attribute_hash
    from production.customers
    where deleted_on is null
),

changed as (
    select source.*, current_version.customer_sk as current_sk
    from source
    left join warehouse.dim_customers as current_version
        on current_version.customer_id = source.customer_id and current_version.is_current
    where current_version.customer_sk is null
        or (current_version.attribute_hash <> source.attribute_hash
            and source.updated_at > current_version.valid_from)
),

history as (
    select customer_id, max(valid_to) as last_valid_to
    from warehouse.dim_customers
    where customer_id in (select customer_id from changed where current_sk is null)
    group by customer_id
)

select
    changed.*,
    case
        when changed.current_sk is not null then changed.updated_at
        else greatest(
            least(changed.updated_at, %(business_date)s::date::timestamp at time zone 'UTC'),
            coalesce(history.last_valid_to, '-infinity')
        )
    end as valid_from
from changed
left join history using (customer_id);

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
    attribute_hash, valid_from, 'infinity', true
from customer_changes
order by customer_id;
