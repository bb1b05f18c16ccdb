-- warehouse.dim_customers: SCD Type 2 over the loaded customer snapshots.
--
-- The versions of every customer a snapshot load changed (production.changed_keys) are rebuilt
-- from all loaded snapshots, whatever order they came in (macros/scd2.sql says how:
-- versions from the source's updated_at, deletions closing the last version at the end of the
-- deletion date, change detection by attribute_hash). Versions that did not change keep their
-- surrogate key; facts whose version changed are re-pointed. The aggregates count customers by
-- customer_id, so only a fact moving to or from the unknown member makes its date's aggregates
-- stale. valid_to = 'infinity' marks the open version.
{% import 'macros/scd2.sql' as scd2 %}
{% import 'macros/first_orders.sql' as first_orders %}

{{ scd2.rebuild_versions('customers', 'customer_snapshots', 'customer_id') }};

{{ scd2.merge_versions(
    'dim_customers', 'customer_id', 'customer_sk',
    ['first_name', 'last_name', 'email', 'city', 'state', 'country', 'signup_date'],
    source="select batch_date, customer_id as natural_key, first_name, last_name, email, city, state,
                   country, signup_date
            from production.customer_snapshots",
    unknown_member_key="select transactions.customer_id from production.transactions
                        where transactions.transaction_id = facts.transaction_id",
    stale_models=stale_models('dim_customers', 'attributes'),
    stale_models_by_key=stale_models('dim_customers', 'key')) }};

-- A fact that moved between the unknown member and a customer changes both first orders.
{{ first_orders.refresh_first_orders(
    "select natural_key as customer_id from refreshed_facts where (old_key = -1) <> (new_key = -1)
     union all
     select -1 from refreshed_facts where (old_key = -1) <> (new_key = -1)") }};
