-- The order, line and fact foreign keys are declared but not enforced (the models resolve every
-- key and assert it once per statement); the lines' ON DELETE CASCADE goes with them
-- (production/050_transactions deletes a date's lines itself).
do $$
declare
    fk record;
begin
    for fk in
        select conrelid::regclass as relation, conname, pg_get_constraintdef(oid) as definition
        from pg_constraint
        where contype = 'f' and conenforced
            and connamespace in ('production'::regnamespace, 'warehouse'::regnamespace)
            and conname in ('transactions_customer_id_fkey', 'transaction_items_transaction_id_fkey',
                            'transaction_items_product_id_fkey', 'fact_sales_date_key_fkey',
                            'fact_sales_customer_sk_fkey', 'fact_sales_product_sk_fkey')
    loop
        execute format('alter table %s drop constraint %I, add constraint %I %s not enforced',
                       fk.relation, fk.conname, fk.conname, replace(fk.definition, ' ON DELETE CASCADE', ''));
    end loop;
end
$$;
