-- Quarantine: every row that could not go on, with where it came from and why.
create table if not exists quarantine.rejected_rows (
    rejected_row_id bigint generated always as identity primary key,
    source_table text not null,
    batch_date date not null,
    source_file text,
    source_line integer,
    stage text not null check (stage in ('staging', 'production', 'warehouse')),
    reason text not null,
    raw_record text,
    -- The line's business key as far as it could be read (customers, products): a snapshot line
    -- quarantined for a bad value still says its key exists. Null: the key could not be read.
    record_key text,
    rejected_at timestamptz not null default clock_timestamp()
);
create index if not exists rejected_rows_batch_idx
    on quarantine.rejected_rows (source_table, batch_date, stage);

-- The schema files as last applied (ecommerce.schema): a bootstrap that finds the same files
-- applied by the same role, and the catalog as they left it, applies nothing, and so takes no
-- lock on a table that another run's tasks are writing.
create table if not exists audit.schema_applied (
    fingerprint text not null,    -- sha256 of the schema files and the model homes' tables
    applied_by name not null,
    catalog_state text not null,  -- ecommerce.schema.CATALOG_STATE after they applied
    applied_at timestamptz not null default clock_timestamp()
);

-- Audit: one row per task run, one per quality check.
create table if not exists audit.task_runs (
    task_run_id bigint generated always as identity primary key,
    dag_id text not null,
    run_id text not null,
    task_id text not null,
    try_number integer not null,
    business_date date not null,
    rows_read bigint not null default 0,
    rows_written bigint not null default 0,
    rows_rejected bigint not null default 0,
    duration_seconds numeric(12, 3) not null,
    finished_at timestamptz not null default clock_timestamp()
);
create index if not exists task_runs_business_date_idx on audit.task_runs (business_date, task_id);

create table if not exists audit.dq_results (
    dq_result_id bigint generated always as identity primary key,
    run_id text not null,
    business_date date not null,
    check_name text not null,
    table_name text not null,
    severity text not null check (severity in ('error', 'warn')),
    observed_value numeric not null,
    threshold numeric not null,
    status text not null check (status in ('pass', 'warn', 'fail')),
    failing_sample jsonb,
    checked_at timestamptz not null default clock_timestamp()
);
create index if not exists dq_results_business_date_idx on audit.dq_results (business_date, check_name);

-- A volume check's measure of each staging batch, with the partition that held the batch when it
-- was measured (a reload is a new partition): the check measures only the batches it has not
-- measured in their present load and reads the rest of its window from here, so its cost
-- follows the day, not the window (plugins/ecommerce/quality: checks.py, engine.py).
create table if not exists audit.batch_measures (
    table_name text not null,
    measure text not null,
    batch_date date not null,
    batch oid not null,
    value numeric,
    primary key (table_name, measure, batch_date)
);

-- How many staged rows of a date collapsed into another row with the same business key.
-- With quarantine it closes the books: staged = loaded + quarantined + collapsed.
create table if not exists audit.duplicates_collapsed (
    business_date date not null,
    table_name text not null,
    rows_collapsed bigint not null,
    primary key (business_date, table_name)
);

-- Business dates completely loaded: a date enters when its last warehouse step commits (see
-- include/sql/warehouse/080_loaded_dates.sql). Dates load in any order; this is a record of
-- which have finished, not a gate.
create table if not exists audit.loaded_dates (
    business_date date primary key,
    loaded_at timestamptz not null default clock_timestamp()
);

-- Which DAG run is loading a business date. A second run of the same date waits until the
-- holder is no longer queued or running (see plugins/ecommerce/date_claims.py).
create table if not exists audit.date_claims (
    business_date date primary key,
    dag_id text not null,
    run_id text not null,
    claimed_at timestamptz not null default clock_timestamp()
);

-- Runtime invariants: a model states what must hold with `select audit.assert(condition,
-- message)`; a false condition fails the task (and rolls back its transaction) with the message.
create or replace function audit.assert(condition boolean, message text) returns void
language plpgsql as $$
begin
    if not condition then
        raise exception using errcode = 'check_violation', message = 'invariant broken: ' || message;
    end if;
end
$$;
