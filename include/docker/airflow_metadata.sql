-- The Airflow metadata database and its owner `airflow` (docker compose only; local mode
-- keeps Airflow's metadata in SQLite). Run by the PostgreSQL container's superuser on its
-- first start, before include/sql/admin/warehouse_roles.sql; safe to re-run, which sets the
-- password from AIRFLOW_DB_PASSWORD again.
--
-- `airflow` owns its database and nothing else: no superuser, no other database, so the
-- credentials every Airflow container holds cannot reach the warehouse or the server.
\set ON_ERROR_STOP on
\getenv airflow_password AIRFLOW_DB_PASSWORD

select 'create role airflow' where not exists (select from pg_roles where rolname = 'airflow')
\gexec
alter role airflow with login nosuperuser nocreatedb nocreaterole noreplication nobypassrls
    password :'airflow_password';

select 'create database airflow owner airflow' where not exists (select from pg_database where datname = 'airflow')
\gexec
alter database airflow owner to airflow;
revoke all on database airflow from public;
