-- Current customers and products are derived from the loaded snapshots, not from the last batch.
alter table if exists production.customers drop column if exists last_batch_date;
alter table if exists production.products drop column if exists last_batch_date;
