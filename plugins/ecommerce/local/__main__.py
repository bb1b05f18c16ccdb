"""Command line of the local mode: ``python -m ecommerce.local {run,exec,stop}``.

    run  --date D (--days N | --start S) [--source generate|landing] [--landing DIR] [--orders N]
         the ``ecommerce_pipeline`` DAG for each of the N business dates ending at D (or
         each date from S to D), in order, with ``airflow dags test``; then a summary of
         what the warehouse holds.
    exec [--profile run|bench] -- COMMAND...
         COMMAND in the local environment (``make airflow``, ``make bench``).
    stop stop the embedded PostgreSQL server.
"""

from __future__ import annotations

import argparse
import os
import sys

from ecommerce.local import environment, warehouse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecommerce.local")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the pipeline for a range of business dates")
    run.add_argument("--date", default="", help="last business date, YYYY-MM-DD (default: yesterday, UTC)")
    run.add_argument("--days", type=int, default=14, help="how many dates ending at --date")
    run.add_argument("--start", default="", help="first business date (overrides --days)")
    run.add_argument("--source", choices=("generate", "landing"), default="generate")
    run.add_argument("--landing", default="", help="landing folder for --source landing")
    run.add_argument("--orders", type=int, default=0, help="orders per day (0: generator default)")

    exec_ = commands.add_parser("exec", help="run a command in the local environment")
    exec_.add_argument("--profile", choices=sorted(environment.PROFILES), default="run")
    exec_.add_argument("cmd", nargs=argparse.REMAINDER)

    commands.add_parser("stop", help="stop the embedded PostgreSQL server")

    args = parser.parse_args(argv)
    if args.command == "stop":
        print("stopped" if warehouse.stop(environment.PGDATA) else "not running")
        return 0
    if args.command == "exec":
        cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        if not cmd:
            parser.error("exec needs a command after --")
        env = environment.build(environment.PROFILES[args.profile])
        os.execvpe(cmd[0], cmd, env)

    from ecommerce.local import pipeline_run

    env = environment.build(environment.PROFILES["run"])
    return pipeline_run.run(args, env)


if __name__ == "__main__":
    sys.exit(main())
