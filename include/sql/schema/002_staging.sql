-- Staging: raw rows exactly as received (every column text) plus load metadata.
-- A business date's batch is replaced as a whole by the loader, in one transaction.
create table if not exists staging.customers (
    customer_id text, first_name text, last_name text, email text, phone text, address text,
    city text, state text, postal_code text, country text, signup_date text, updated_at text,
    batch_date date not null,
    source_file text not null,
    source_line integer not null,
    loaded_at timestamptz not null
);

create table if not exists staging.products (
    product_id text, product_name text, category text, brand text, unit_price text, cost text,
    is_active text, updated_at text,
    batch_date date not null,
    source_file text not null,
    source_line integer not null,
    loaded_at timestamptz not null
);

create table if not exists staging.transactions (
    transaction_id text, customer_id text, transaction_ts text, channel text, payment_method text,
    status text, shipping_cost text,
    batch_date date not null,
    source_file text not null,
    source_line integer not null,
    loaded_at timestamptz not null
);

create table if not exists staging.transaction_items (
    transaction_id text, line_number text, product_id text, quantity text, unit_price text,
    discount text,
    batch_date date not null,
    source_file text not null,
    source_line integer not null,
    loaded_at timestamptz not null
);

create index if not exists customers_batch_date_idx on staging.customers (batch_date);
create index if not exists products_batch_date_idx on staging.products (batch_date);
create index if not exists transactions_batch_date_idx on staging.transactions (batch_date);
create index if not exists transaction_items_batch_date_idx on staging.transaction_items (batch_date);
