-- The warehouse's roles, each with the least it needs (docs/operations.md, "Security").
--
-- Run by a superuser, through psql, and only here: by the PostgreSQL container on its first
-- start (docker-entrypoint-initdb.d), and by `make run` / `make test` / `make airflow` on the
-- embedded server. Safe to re-run; re-running sets the passwords from the environment again
-- (how they are rotated).
--
--   ecommerce  logs in as the pipeline (connection ecommerce_warehouse); owns the warehouse
--              database and its schemas, nothing else: no superuser, no CREATEROLE, so no
--              COPY ... PROGRAM, no server files, no other database.
--   bi_reader  logs in for BI tools; reads warehouse and analytics (the grants are in
--              include/sql/schema/007_bi_reader.sql), connects to the warehouse database only,
--              read-only sessions, statements cancelled after BI_READER_STATEMENT_TIMEOUT.
--              On a server this file never ran on, the schema bootstrap creates it with the
--              same limits (plugins/ecommerce/schema.py; tests/sql/test_least_privilege.py
--              compares the two): change them in both.
--
-- Environment: WAREHOUSE_DB (default ecommerce), WAREHOUSE_DB_PASSWORD and BI_READER_PASSWORD
-- (unset: the role keeps its password; local mode logs in over the socket without one),
-- BI_READER_STATEMENT_TIMEOUT (a PostgreSQL duration, default 2min).
\set ON_ERROR_STOP on
\getenv warehouse_db WAREHOUSE_DB
\getenv warehouse_password WAREHOUSE_DB_PASSWORD
\getenv bi_reader_password BI_READER_PASSWORD
\getenv bi_reader_timeout BI_READER_STATEMENT_TIMEOUT
-- An unset variable is not interpolated: give each one a value ('' = not given).
\if :{?warehouse_db} \else \set warehouse_db '' \endif
\if :{?warehouse_password} \else \set warehouse_password '' \endif
\if :{?bi_reader_password} \else \set bi_reader_password '' \endif
\if :{?bi_reader_timeout} \else \set bi_reader_timeout '' \endif
select coalesce(nullif(:'warehouse_db', ''), 'ecommerce') as warehouse_db,
       coalesce(nullif(:'bi_reader_timeout', ''), '2min') as bi_reader_timeout,
       :'warehouse_password' = '' as no_warehouse_password,
       :'bi_reader_password' = '' as no_bi_reader_password
\gset
-- Two first runs at once would both try to create the same role or database.
select pg_advisory_lock(7301002) \gset

select 'create role ecommerce' where not exists (select from pg_roles where rolname = 'ecommerce')
\gexec
alter role ecommerce with login nosuperuser nocreatedb nocreaterole noreplication nobypassrls;
\if :no_warehouse_password
\else
    alter role ecommerce password :'warehouse_password';
\endif

select 'create role bi_reader' where not exists (select from pg_roles where rolname = 'bi_reader')
\gexec
alter role bi_reader with login nosuperuser nocreatedb nocreaterole noreplication nobypassrls
    connection limit 20;
\if :no_bi_reader_password
\else
    alter role bi_reader password :'bi_reader_password';
\endif
alter role bi_reader set statement_timeout = :'bi_reader_timeout';
alter role bi_reader set default_transaction_read_only = on;

select format('create database %I owner ecommerce', :'warehouse_db')
 where not exists (select from pg_database where datname = :'warehouse_db')
\gexec
alter database :"warehouse_db" owner to ecommerce;
-- Connecting is granted, not assumed: PUBLIC may connect to no database of the cluster.
revoke all on database :"warehouse_db" from public;
grant connect on database :"warehouse_db" to bi_reader;
revoke connect, temporary on database postgres, template1 from public;

-- A warehouse built before these roles existed belongs to the superuser: hand its schemas
-- and tables to the pipeline role (nothing to do on a new database).
\connect :"warehouse_db"
do $$
declare
    layer text;
    rel regclass;
begin
    for layer in
        select nspname from pg_namespace
         where nspname in ('staging', 'quarantine', 'audit', 'production', 'warehouse', 'analytics')
           and nspowner <> 'ecommerce'::regrole
    loop
        execute format('alter schema %I owner to ecommerce', layer);
    end loop;
    for rel in
        select c.oid::regclass from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname in ('staging', 'quarantine', 'audit', 'production', 'warehouse', 'analytics')
           and c.relkind in ('r', 'p') and c.relowner <> 'ecommerce'::regrole
    loop
        execute format('alter table %s owner to ecommerce', rel);
    end loop;
end
$$;
