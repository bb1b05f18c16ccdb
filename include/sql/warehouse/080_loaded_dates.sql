-- audit.loaded_dates: the business date is completely loaded. The last warehouse step: a run
-- that stops before it leaves the date out, and its rerun converges.
-- (What fact_sales' not enforced foreign keys state is checked before it, by the warehouse's
-- declared checks: include/quality/warehouse.yml.)

insert into audit.loaded_dates (business_date)
values (%(business_date)s)
on conflict (business_date) do update set loaded_at = excluded.loaded_at;
