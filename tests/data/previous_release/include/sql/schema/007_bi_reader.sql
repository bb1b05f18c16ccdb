-- bi_reader: the read-only login for Power BI, Tableau and other BI tools. It reads the
-- warehouse and analytics schemas, nothing else, and writes nowhere. The role itself exists
-- before this file runs: created, with its password from BI_READER_PASSWORD and its limits, by
-- include/sql/admin/warehouse_roles.sql, or else, with the same limits and no password, by the
-- bootstrap (ecommerce.schema.ensure_bi_reader) when its connection may create roles.
do $$
begin
    execute format('grant connect on database %I to bi_reader', current_database());
end
$$;

grant usage on schema warehouse, analytics to bi_reader;
grant select on all tables in schema warehouse, analytics to bi_reader;
-- Tables created later (by the role running the pipeline) are readable too.
alter default privileges in schema warehouse, analytics grant select on tables to bi_reader;

revoke all on schema staging, quarantine, audit, production from bi_reader;
revoke create on schema public from bi_reader;
