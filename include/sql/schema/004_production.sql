-- Production: typed, cleaned, de-duplicated 3NF tables. Keys are the source's business keys.
--
-- Customers and products arrive as daily snapshots. Production keeps what every loaded snapshot
-- said (customer_snapshots, product_snapshots: one row per key and date), and the current-state
-- tables customers and products are derived from them: the version with the newest updated_at,
-- deleted when the first complete snapshot after the key's last appearance lacks it. Because
-- they are a function of the set of loaded snapshots, dates can load in any order.
create table if not exists production.categories (
    category_id integer generated always as identity primary key,
    category_name text not null unique
);

create table if not exists production.brands (
    brand_id integer generated always as identity primary key,
    brand_name text not null unique
);

create table if not exists production.customers (
    customer_id bigint primary key check (customer_id > 0),
    first_name text not null,
    last_name text not null,
    email text not null check (email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[a-z]{2,}$'),
    phone text,
    address text,
    city text,
    state text,
    postal_code text,
    country text not null check (country ~ '^[A-Z]{2}$'),
    signup_date date not null,
    updated_at timestamptz not null,
    deleted_on date  -- the first complete snapshot after the customer's last one; null: live
);

create table if not exists production.products (
    product_id bigint primary key check (product_id > 0),
    product_name text not null,
    category_id integer not null references production.categories,
    brand_id integer not null references production.brands,
    unit_price numeric(12, 2) not null check (unit_price >= 0),
    cost numeric(12, 2) not null check (cost >= 0),
    is_active boolean not null,
    updated_at timestamptz not null,
    deleted_on date  -- the first complete snapshot after the product's last one; null: live
);
create index if not exists products_category_idx on production.products (category_id);
create index if not exists products_brand_idx on production.products (brand_id);

-- The order and line foreign keys are declared NOT ENFORCED, like fact_sales' (see
-- 005_warehouse.sql): the models only keep rows whose references the same date's snapshots and
-- orders hold, and the production quality gate checks it per date (include/quality/production.yml); a date's lines
-- are deleted with its orders by 050_transactions itself.
create table if not exists production.transactions (
    transaction_id bigint primary key check (transaction_id > 0),
    customer_id bigint not null references production.customers not enforced,
    transaction_ts timestamptz not null,
    channel text not null,
    payment_method text not null,
    status text not null check (status in ('completed', 'cancelled', 'returned', 'pending')),
    shipping_cost numeric(12, 2) not null check (shipping_cost >= 0),
    batch_date date not null
);
create index if not exists transactions_batch_date_idx on production.transactions (batch_date);
-- A customer's orders, for the rare question whether any order still names a customer a rerun
-- took out of every snapshot (macros/snapshots.sql). The customer alone: each order of a load is an
-- entry inserted at random into this index, and the order time beside it was never asked for
-- (a million-line day's orders inserted about 10% faster).
create index if not exists transactions_customer_id_idx on production.transactions (customer_id);

create table if not exists production.transaction_items (
    transaction_id bigint not null references production.transactions not enforced,
    line_number integer not null check (line_number > 0),
    product_id bigint not null references production.products not enforced,
    quantity integer not null check (quantity > 0),
    unit_price numeric(12, 2) not null check (unit_price >= 0),
    discount numeric(5, 4) not null check (discount >= 0 and discount < 1),
    primary key (transaction_id, line_number)
);
create index if not exists transaction_items_product_idx on production.transaction_items (product_id);

-- Which dates' snapshots production holds. keys_complete is false when a line of the snapshot
-- was quarantined and its key could not be read: then the snapshot's absences prove nothing,
-- and no deletion is inferred from it.
create table if not exists production.snapshot_dates (
    table_name text not null check (table_name in ('customers', 'products')),
    batch_date date not null,
    keys_complete boolean not null,
    primary key (table_name, batch_date)
);

-- One row per customer per loaded snapshot: the typed row the snapshot showed. A key whose
-- every line was quarantined is present with null values (row_hash null): it exists, but the
-- snapshot says nothing about its attributes.
create table if not exists production.customer_snapshots (
    batch_date date not null,
    customer_id bigint not null,
    first_name text,
    last_name text,
    email text,
    phone text,
    address text,
    city text,
    state text,
    postal_code text,
    country text,
    signup_date date,
    updated_at timestamptz,
    attribute_hash text,  -- md5 of the attributes dim_customers tracks
    row_hash text,        -- md5 of every attribute and updated_at; null: quarantined lines only
    source_file text not null,
    source_line integer not null,
    primary key (batch_date, customer_id),
    check (row_hash is null or (first_name is not null and last_name is not null and email is not null
                                and country is not null and signup_date is not null and updated_at is not null))
);
create index if not exists customer_snapshots_key_idx on production.customer_snapshots (customer_id, batch_date);

create table if not exists production.product_snapshots (
    batch_date date not null,
    product_id bigint not null,
    product_name text,
    category_id integer references production.categories,
    brand_id integer references production.brands,
    unit_price numeric(12, 2),
    cost numeric(12, 2),
    is_active boolean,
    updated_at timestamptz,
    attribute_hash text,  -- md5 of the attributes dim_products tracks
    row_hash text,        -- md5 of every attribute and updated_at; null: quarantined lines only
    source_file text not null,
    source_line integer not null,
    primary key (batch_date, product_id),
    check (row_hash is null or (product_name is not null and category_id is not null and brand_id is not null
                                and unit_price is not null and cost is not null and is_active is not null
                                and updated_at is not null))
);
create index if not exists product_snapshots_key_idx on production.product_snapshots (product_id, batch_date);

-- Keys whose history a snapshot load changed and the dimension step has not rebuilt yet.
create table if not exists production.changed_keys (
    table_name text not null check (table_name in ('customers', 'products')),
    natural_key bigint not null,
    primary key (table_name, natural_key)
);
