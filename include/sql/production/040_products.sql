-- production.products: the date's product snapshot, typed. Every loaded snapshot is kept in
-- production.product_snapshots; production.products is derived from them like customers (see
-- 010_customers.sql). Untypeable rows are quarantined with a reason.
{% import 'macros/quarantine.sql' as quarantine %}
{% import 'macros/keys.sql' as keys %}
{% import 'macros/snapshots.sql' as snapshots %}
{% import 'macros/parallel.sql' as parallel %}

delete from quarantine.rejected_rows
where source_table = 'products' and batch_date = %(business_date)s and stage = 'production';

{{ parallel.price_rows_for_parallel_builds() }};

create temporary table products_batch on commit drop as
with source as (
    select * from staging.products where batch_date = %(business_date)s
),

cleaned as (
    select
        source_file,
        source_line,
        trim(product_id) as product_id,
        regexp_replace(trim(product_name), '\s+', ' ', 'g') as product_name,
        trim(category) as category,
        trim(brand) as brand,
        trim(unit_price) as unit_price,
        trim(cost) as cost,
        lower(trim(is_active)) as is_active,
        trim(updated_at) as updated_at
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
            when not {{ keys.is_key('product_id') }} then 'invalid_product_id'
            when not pg_input_is_valid(unit_price, 'numeric(12,2)')
                or not pg_input_is_valid(cost, 'numeric(12,2)') then 'invalid_number'
            when unit_price::numeric < 0 or cost::numeric < 0 then 'negative_price'
            when not pg_input_is_valid(is_active, 'boolean') then 'invalid_boolean'
            when not pg_input_is_valid(updated_at, 'timestamptz') then 'invalid_timestamp'
        end as reject_reason
    from cleaned
)

select * from checked;

{{ quarantine.quarantine_rejected('products', 'products_batch', 'product_id') }};

insert into audit.duplicates_collapsed (business_date, table_name, rows_collapsed)
select %(business_date)s, 'products', count(*) - count(distinct product_id::bigint)
from products_batch
where reject_reason is null
on conflict (business_date, table_name) do update set rows_collapsed = excluded.rows_collapsed;

{{ snapshots.replace_snapshot('products', 'product_snapshots', 'product_id') }};

insert into production.product_snapshots (
    batch_date, product_id, product_name, category_id, brand_id, unit_price, cost, is_active, updated_at,
    attribute_hash, row_hash, source_file, source_line
)
with typed as (
    select distinct on (batch.product_id::bigint)
        batch.product_id::bigint as product_id,
        batch.product_name,
        categories.category_id,
        categories.category_name,
        brands.brand_id,
        brands.brand_name,
        batch.unit_price::numeric(12, 2) as unit_price,
        batch.cost::numeric(12, 2) as cost,
        batch.is_active::boolean as is_active,
        batch.updated_at::timestamptz as updated_at,
        batch.source_file,
        batch.source_line
    from products_batch as batch
    inner join production.categories as categories on categories.category_name = batch.category
    inner join production.brands as brands on brands.brand_name = batch.brand
    where batch.reject_reason is null
    order by batch.product_id::bigint, batch.updated_at::timestamptz desc, batch.source_line desc
)

select
    %(business_date)s,
    product_id,
    product_name,
    category_id,
    brand_id,
    unit_price,
    cost,
    is_active,
    updated_at,
    md5(concat_ws('|', product_name, category_name, brand_name, unit_price, cost, is_active)),
    md5(concat_ws('|', product_name, category_name, brand_name, unit_price, cost, is_active, updated_at)),
    source_file,
    source_line
from typed;

{{ snapshots.track_snapshot('products', 'product_snapshots', 'product_id',
                            ['product_name', 'category_id', 'brand_id', 'unit_price', 'cost', 'is_active',
                             'updated_at'],
                            named_by='production.transaction_items') }};
