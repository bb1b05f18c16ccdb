-- The lines a staged record spans (a quoted line break: more than one).
alter table if exists staging.customers add column if not exists source_lines smallint not null default 1;
alter table if exists staging.products add column if not exists source_lines smallint not null default 1;
alter table if exists staging.transactions add column if not exists source_lines smallint not null default 1;
alter table if exists staging.transaction_items add column if not exists source_lines smallint not null default 1;
