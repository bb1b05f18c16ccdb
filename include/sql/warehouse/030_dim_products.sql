-- warehouse.dim_products: SCD Type 2 over production.products — a price change, a new name or
-- category, a discontinuation each make a new version. The rules are those of dim_customers:
-- versions from the source's updated_at, deletions close the current version at the end of
-- the business date that noticed, a first version also covers the start of its first date.
update warehouse.dim_products as dim
set valid_to = greatest((products.deleted_on + 1)::timestamp at time zone 'UTC', dim.valid_from + interval '1 second'),
    is_current = false
from production.products as products
where dim.product_id = products.product_id
    and dim.is_current
    and products.deleted_on is not null;

create temporary table product_changes on commit drop as
with source as (
    select
        products.product_id,
        products.product_name,
        categories.category_name,
        brands.brand_name,
        products.unit_price,
        products.cost,
        products.is_active,
        products.updated_at,
        md5(concat_ws('|', products.product_name, categories.category_name, brands.brand_name,
                      products.unit_price, products.cost, products.is_active)) as attribute_hash
    from production.products as products
    inner join production.categories as categories using (category_id)
    inner join production.brands as brands using (brand_id)
    where products.deleted_on is null
),

changed as (
    select source.*, current_version.product_sk as current_sk
    from source
    left join warehouse.dim_products as current_version
        on current_version.product_id = source.product_id and current_version.is_current
    where current_version.product_sk is null
        or (current_version.attribute_hash <> source.attribute_hash
            and source.updated_at > current_version.valid_from)
),

history as (
    select product_id, max(valid_to) as last_valid_to
    from warehouse.dim_products
    where product_id in (select product_id from changed where current_sk is null)
    group by product_id
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
left join history using (product_id);

update warehouse.dim_products as dim
set valid_to = changes.updated_at, is_current = false
from product_changes as changes
where dim.product_sk = changes.current_sk;

insert into warehouse.dim_products (
    product_id, product_name, category_name, brand_name, unit_price, cost, is_active,
    attribute_hash, valid_from, valid_to, is_current
)
select
    product_id, product_name, category_name, brand_name, unit_price, cost, is_active,
    attribute_hash, valid_from, 'infinity', true
from product_changes
order by product_id;
