-- production.products: the date's product snapshot, typed, upserted by product_id; a newer
-- updated_at wins. Untypeable rows are quarantined with a reason.
delete from quarantine.rejected_rows
where source_table = 'products' and batch_date = %(business_date)s and stage = 'production';

create temporary table products_batch on commit drop as
with source as (
    select * from staging.products where batch_date = %(business_date)s
),

cleaned as (
    select
        source_file,
        source_line,
        product_id,
        regexp_replace(trim(product_name), '\s+', ' ', 'g') as product_name,
        trim(category) as category,
        trim(brand) as brand,
        trim(unit_price) as unit_price,
        trim(cost) as cost,
        lower(trim(is_active)) as is_active,
        trim(updated_at) as updated_at,
        row_to_json(source)::text as raw_record
    from source
),

checked as (
    select
        *,
        case
            when nullif(product_id, '') is null or nullif(product_name, '') is null
                or nullif(category, '') is null or nullif(brand, '') is null
                or nullif(unit_price, '') is null or nullif(cost, '') is null
                or nullif(is_active, '') is null or nullif(updated_at, '') is null
                then 'missing_required_value'
            when not pg_input_is_valid(product_id, 'bigint') then 'invalid_product_id'
            when not pg_input_is_valid(unit_price, 'numeric(12,2)')
                or not pg_input_is_valid(cost, 'numeric(12,2)') then 'invalid_number'
            when unit_price::numeric < 0 or cost::numeric < 0 then 'negative_price'
            when not pg_input_is_valid(is_active, 'boolean') then 'invalid_boolean'
            when not pg_input_is_valid(updated_at, 'timestamptz') then 'invalid_timestamp'
        end as reject_reason
    from cleaned
)

select * from checked;

insert into quarantine.rejected_rows
    (source_table, batch_date, source_file, source_line, stage, reason, raw_record)
select 'products', %(business_date)s, source_file, source_line, 'production', reject_reason, raw_record
from products_batch
where reject_reason is not null;

insert into audit.duplicates_collapsed (business_date, table_name, rows_collapsed)
select %(business_date)s, 'products', count(*) - count(distinct product_id::bigint)
from products_batch
where reject_reason is null
on conflict (business_date, table_name) do update set rows_collapsed = excluded.rows_collapsed;

-- A product missing from the date's snapshot was deleted at the source. Any staged row counts
-- as present, even one quarantined for a bad value: bad data is not a deletion.
update production.products as target
set deleted_on = %(business_date)s
where target.deleted_on is null
    and exists (select from staging.products where batch_date = %(business_date)s)
    -- only the newest snapshot says what exists now; re-running an older date deletes nothing
    and %(business_date)s >= (select coalesce(max(last_batch_date), '-infinity') from production.products)
    and not exists (
        select from staging.products as snapshot
        where snapshot.batch_date = %(business_date)s
            and pg_input_is_valid(trim(snapshot.product_id), 'bigint')
            and trim(snapshot.product_id)::bigint = target.product_id
    );

insert into production.products as target (
    product_id, product_name, category_id, brand_id, unit_price, cost, is_active, updated_at,
    last_batch_date
)
select distinct on (batch.product_id::bigint)
    batch.product_id::bigint,
    batch.product_name,
    categories.category_id,
    brands.brand_id,
    batch.unit_price::numeric(12, 2),
    batch.cost::numeric(12, 2),
    batch.is_active::boolean,
    batch.updated_at::timestamptz,
    %(business_date)s
from products_batch as batch
inner join production.categories as categories on categories.category_name = batch.category
inner join production.brands as brands on brands.brand_name = batch.brand
where batch.reject_reason is null
order by batch.product_id::bigint, batch.updated_at::timestamptz desc, batch.source_line desc
on conflict (product_id) do update set
    product_name = excluded.product_name,
    category_id = excluded.category_id,
    brand_id = excluded.brand_id,
    unit_price = excluded.unit_price,
    cost = excluded.cost,
    is_active = excluded.is_active,
    updated_at = excluded.updated_at,
    last_batch_date = greatest(target.last_batch_date, excluded.last_batch_date),
    -- back in a snapshot newer than the one that missed it: live again
    deleted_on = case when target.deleted_on < excluded.last_batch_date then null else target.deleted_on end
where target.updated_at <= excluded.updated_at;
