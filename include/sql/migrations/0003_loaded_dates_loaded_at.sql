-- A loaded date records when it finished loading, not when its first run started.
alter table if exists audit.loaded_dates add column if not exists loaded_at timestamptz not null default clock_timestamp();
alter table if exists audit.loaded_dates drop column if exists first_started_at;
