-- A quarantined snapshot line's business key, as far as it could be read.
alter table if exists quarantine.rejected_rows add column if not exists record_key text;
