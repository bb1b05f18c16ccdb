#!/usr/bin/env bash
# Runs once, when the PostgreSQL container initialises an empty data folder: creates the
# warehouse database `ecommerce` and its owner `ecommerce` beside the Airflow metadata
# database. The owner may create roles: the pipeline's schema bootstrap creates the read-only
# `bi_reader` (password BI_READER_PASSWORD) itself.
set -euo pipefail

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v password="$WAREHOUSE_DB_PASSWORD" <<'SQL'
create role ecommerce login createrole password :'password';
create database ecommerce owner ecommerce;
SQL
