-- Staging: raw rows exactly as received (every column text) plus load metadata.
-- Each table is partitioned by batch_date: the loader builds a business date's batch as a new
-- partition and swaps it for the old one in one transaction, so a reload writes the rows once,
-- drops the old batch without deleting row by row, and never touches other dates.
create table if not exists staging.customers (
    customer_id text, first_name text, last_name text, email text, phone text, address text,
    city text, state text, postal_code text, country text, signup_date text, updated_at text,
    batch_date date not null,
    source_file text not null,
    source_line integer not null,
    source_lines smallint not null default 1,  -- lines the record spans (a quoted line break: more)
    loaded_at timestamptz not null
) partition by list (batch_date);

create table if not exists staging.products (
    product_id text, product_name text, category text, brand text, unit_price text, cost text,
    is_active text, updated_at text,
    batch_date date not null,
    source_file text not null,
    source_line integer not null,
    source_lines smallint not null default 1,  -- lines the record spans (a quoted line break: more)
    loaded_at timestamptz not null
) partition by list (batch_date);

create table if not exists staging.transactions (
    transaction_id text, customer_id text, transaction_ts text, channel text, payment_method text,
    status text, shipping_cost text,
    batch_date date not null,
    source_file text not null,
    source_line integer not null,
    source_lines smallint not null default 1,  -- lines the record spans (a quoted line break: more)
    loaded_at timestamptz not null
) partition by list (batch_date);

create table if not exists staging.transaction_items (
    transaction_id text, line_number text, product_id text, quantity text, unit_price text,
    discount text,
    batch_date date not null,
    source_file text not null,
    source_line integer not null,
    source_lines smallint not null default 1,  -- lines the record spans (a quoted line break: more)
    loaded_at timestamptz not null
) partition by list (batch_date);

alter table staging.customers add column if not exists source_lines smallint not null default 1;
alter table staging.products add column if not exists source_lines smallint not null default 1;
alter table staging.transactions add column if not exists source_lines smallint not null default 1;
alter table staging.transaction_items add column if not exists source_lines smallint not null default 1;
