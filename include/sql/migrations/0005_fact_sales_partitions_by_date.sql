-- Facts in a partition per date within one per month (include/sql/schema/005_warehouse.sql).
-- Two older layouts move into it: fact_sales an ordinary table (it steps aside, its index names
-- freed, for a partitioned table made like it), or partitioned by month with each month an
-- ordinary table (detached and renamed). Their facts go through the partitioned table into a
-- new partition of their date; the old tables are dropped, and so are the older layouts'
-- functions.
do $$
declare
    old regclass;
    olds regclass[] := '{}';
    old_index regclass;
    day date;
begin
    if to_regclass('warehouse.fact_sales') is null then
        return;
    end if;
    if (select relkind from pg_class where oid = 'warehouse.fact_sales'::regclass) = 'r' then
        alter table warehouse.fact_sales rename to fact_sales_unpartitioned;
        for old_index in select indexrelid::regclass from pg_index
                         where indrelid = 'warehouse.fact_sales_unpartitioned'::regclass loop
            execute format('alter index %s rename to %I', old_index,
                           'unpartitioned_' || (select relname from pg_class where oid = old_index));
        end loop;
        create table warehouse.fact_sales (like warehouse.fact_sales_unpartitioned including defaults)
            partition by range (date_key);
        alter table warehouse.fact_sales
            add primary key (transaction_id, line_number, date_key),
            add foreign key (date_key) references warehouse.dim_date not enforced,
            add foreign key (customer_sk) references warehouse.dim_customers not enforced,
            add foreign key (product_sk) references warehouse.dim_products not enforced;
        create index fact_sales_date_idx on warehouse.fact_sales (date_key);
        create index fact_sales_customer_idx on warehouse.fact_sales (customer_sk);
        create index fact_sales_product_idx on warehouse.fact_sales (product_sk);
        olds := olds || 'warehouse.fact_sales_unpartitioned'::regclass;
    end if;
    for old in select inherits.inhrelid::regclass
               from pg_inherits as inherits
               inner join pg_class as class on class.oid = inherits.inhrelid
               where inherits.inhparent = 'warehouse.fact_sales'::regclass and class.relkind = 'r' loop
        execute format('alter table warehouse.fact_sales detach partition %s', old);
        execute format('alter table %s rename to %I', old,
                       (select relname from pg_class where oid = old) || '_by_month');
        olds := olds || old;
    end loop;
    foreach old in array olds loop
        for day in execute format('select distinct to_date(date_key::text, %L) from %s', 'YYYYMMDD', old) loop
            execute format('create table if not exists warehouse.%I partition of warehouse.fact_sales '
                           'for values from (%s) to (%s) partition by range (date_key)',
                           'fact_sales_' || to_char(day, 'YYYY_MM'),
                           to_char(date_trunc('month', day), 'YYYYMMDD'),
                           to_char(date_trunc('month', day) + interval '1 month', 'YYYYMMDD'));
            execute format('create table warehouse.%I partition of warehouse.%I for values from (%s) to (%s)',
                           'fact_sales_' || to_char(day, 'YYYY_MM_DD'), 'fact_sales_' || to_char(day, 'YYYY_MM'),
                           to_char(day, 'YYYYMMDD'), to_char(day + 1, 'YYYYMMDD'));
        end loop;
        execute format(
            'insert into warehouse.fact_sales (date_key, customer_sk, product_sk, transaction_id, line_number, '
            '    transaction_ts, quantity, unit_price, discount, gross_amount, net_amount, status) '
            'select date_key, customer_sk, product_sk, transaction_id, line_number, transaction_ts, quantity, '
            '    unit_price, discount, gross_amount, net_amount, status '
            'from %s', old);
        execute format('drop table %s', old);
    end loop;
    if cardinality(olds) > 0 then
        analyze warehouse.fact_sales;  -- the planner's statistics of the new partitions and their parents
    end if;
end
$$;

drop function if exists warehouse.create_fact_sales_partition(date);
drop function if exists warehouse.move_facts_into_date_partitions(regclass);
