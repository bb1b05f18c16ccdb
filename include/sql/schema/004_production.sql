-- Production: typed, cleaned, de-duplicated 3NF tables. Keys are the source's business keys.
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
    last_batch_date date not null,
    deleted_on date  -- the business date whose snapshot first lacked the customer; null: live
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
    last_batch_date date not null,
    deleted_on date  -- the business date whose snapshot first lacked the product; null: live
);
create index if not exists products_category_idx on production.products (category_id);
create index if not exists products_brand_idx on production.products (brand_id);

create table if not exists production.transactions (
    transaction_id bigint primary key check (transaction_id > 0),
    customer_id bigint not null references production.customers,
    transaction_ts timestamptz not null,
    channel text not null,
    payment_method text not null,
    status text not null check (status in ('completed', 'cancelled', 'returned', 'pending')),
    shipping_cost numeric(12, 2) not null check (shipping_cost >= 0),
    batch_date date not null
);
create index if not exists transactions_batch_date_idx on production.transactions (batch_date);
create index if not exists transactions_customer_idx on production.transactions (customer_id, transaction_ts);

create table if not exists production.transaction_items (
    transaction_id bigint not null references production.transactions on delete cascade,
    line_number integer not null check (line_number > 0),
    product_id bigint not null references production.products,
    quantity integer not null check (quantity > 0),
    unit_price numeric(12, 2) not null check (unit_price >= 0),
    discount numeric(5, 4) not null check (discount >= 0 and discount < 1),
    primary key (transaction_id, line_number)
);
create index if not exists transaction_items_product_idx on production.transaction_items (product_id);
