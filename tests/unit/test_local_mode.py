"""The local mode's pure helpers: date ranges of `make run` and connection URIs."""

from __future__ import annotations

from datetime import date

import pytest

from ecommerce.local.pipeline_run import business_dates
from ecommerce.local.warehouse import connection_uri, psycopg_conninfo


def test_days_ending_at_date_in_order():
    assert business_dates("2026-11-20", 3) == [date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20)]


def test_start_overrides_days():
    assert business_dates("2026-03-01", 99, "2026-02-27") == [date(2026, 2, 27), date(2026, 2, 28), date(2026, 3, 1)]


@pytest.mark.parametrize("last, days, first", [("2026-11-20", 0, ""), ("2026-11-20", 3, "2026-11-21")])
def test_an_empty_range_is_refused(last, days, first):
    with pytest.raises(SystemExit):
        business_dates(last, days, first)


def test_socket_uri_round_trips_to_psycopg_with_case_kept():
    uri = connection_uri("/tmp/My Clone/.local/pgdata", 5432, "ecommerce")
    assert uri == "postgresql://postgres@%2Ftmp%2FMy%20Clone%2F.local%2Fpgdata:5432/ecommerce"
    assert psycopg_conninfo(uri) == "host='/tmp/My Clone/.local/pgdata' port=5432 user=postgres dbname=ecommerce"


def test_tcp_uri_with_password_to_psycopg():
    assert psycopg_conninfo("postgresql://bi:p%40ss@db.internal:5433/ecommerce") == (
        "host=db.internal port=5433 user=bi password=p@ss dbname=ecommerce"
    )
