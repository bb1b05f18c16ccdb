-- One schema per layer. See docs/architecture.md for what each holds.
create schema if not exists staging;
create schema if not exists quarantine;
create schema if not exists audit;
create schema if not exists production;
create schema if not exists warehouse;
create schema if not exists analytics;
