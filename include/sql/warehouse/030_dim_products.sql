-- warehouse.dim_products: SCD Type 2 over the loaded product snapshots — a price change, a new
-- name or category, a discontinuation each make a new version. Rebuilt like dim_customers, by
-- the same routine (macros/scd2.sql). A fact re-pointed to a version with other attributes, or
-- moved to or from the unknown member, makes its date stale for the models that say so where
-- they take their stale dates (made_stale_by; ecommerce.models.stale_models).
{% import 'macros/scd2.sql' as scd2 %}

{{ scd2.rebuild_versions('products', 'product_snapshots', 'product_id') }};

{{ scd2.merge_versions(
    'dim_products', 'product_id', 'product_sk',
    ['product_name', 'category_name', 'brand_name', 'unit_price', 'cost', 'is_active'],
    source="select snapshots.batch_date, snapshots.product_id as natural_key, snapshots.product_name,
                   categories.category_name, brands.brand_name, snapshots.unit_price, snapshots.cost,
                   snapshots.is_active
            from production.product_snapshots as snapshots
            inner join production.categories as categories using (category_id)
            inner join production.brands as brands using (brand_id)",
    unknown_member_key="select items.product_id from production.transaction_items as items
                        where items.transaction_id = facts.transaction_id
                            and items.line_number = facts.line_number",
    stale_models=stale_models('dim_products', 'attributes'),
    stale_models_by_key=stale_models('dim_products', 'key')) }};
