-- Analytics: small tables a dashboard or BI tool reads directly, rebuilt after every load.
-- Revenue here always means net revenue of completed orders.
create table if not exists analytics.daily_kpis (
    date date primary key,
    orders integer not null,
    customers integer not null,
    units integer not null,
    net_revenue numeric(16, 2) not null,
    avg_order_value numeric(14, 2) not null,
    revenue_7d_avg numeric(16, 2) not null,
    orders_7d_avg numeric(12, 2) not null
);

create table if not exists analytics.revenue_by_category (
    category_name text primary key,
    orders integer not null,
    units integer not null,
    net_revenue numeric(16, 2) not null,
    revenue_share numeric(7, 4) not null
);

create table if not exists analytics.sales_by_weekday (
    day_of_week smallint primary key,
    day_name text not null,
    is_weekend boolean not null,
    days integer not null,
    orders integer not null,
    net_revenue numeric(16, 2) not null,
    avg_daily_orders numeric(12, 2) not null,
    avg_daily_revenue numeric(16, 2) not null
);

create table if not exists analytics.top_products (
    revenue_rank integer primary key,
    product_id bigint not null,
    product_name text not null,
    category_name text not null,
    units integer not null,
    net_revenue numeric(16, 2) not null
);

create table if not exists analytics.customer_revenue_mix (
    customer_type text primary key check (customer_type in ('new', 'repeat')),
    customers integer not null,
    orders integer not null,
    net_revenue numeric(16, 2) not null,
    revenue_share numeric(7, 4) not null
);

create table if not exists analytics.insights (
    insight_key text primary key,
    headline text not null,
    metric_value numeric not null,
    details jsonb not null
);

create table if not exists analytics.rfm_segments (
    customer_id bigint primary key,
    recency_days integer not null,
    frequency integer not null,
    monetary numeric(16, 2) not null,
    r_score smallint not null,
    f_score smallint not null,
    m_score smallint not null,
    segment text not null
);

create table if not exists analytics.cohort_retention (
    cohort_month date not null,
    months_since_first integer not null,
    cohort_size integer not null,
    active_customers integer not null,
    retention_rate numeric(7, 4) not null,
    primary key (cohort_month, months_since_first)
);
