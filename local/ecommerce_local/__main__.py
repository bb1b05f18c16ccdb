"""Command line of the local mode: ``python -m ecommerce_local {run,exec,stop}``.

    run  --date D (--days N | --start S) [--source generate|landing] [--landing DIR] [--orders N]
         the ``ecommerce_pipeline`` DAG for each of the N business dates ending at D (or
         each date from S to D), a lane of dates per core (ecommerce_local.lanes), the
         log shown in date order; then a summary of what the warehouse holds.
    exec [--profile run|bench] -- COMMAND...
         COMMAND in the local environment (``make airflow``, ``make bench``).
    stop stop the embedded PostgreSQL server.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from datetime import date

from ecommerce.failures import SetupProblem
from ecommerce_local import environment, warehouse


class OneLineParser(argparse.ArgumentParser):
    """Bad input ends in one clear line (and exit status 2), not a usage block or a traceback."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message}\n")


def business_date(name: str):
    """An argparse type: a YYYY-MM-DD date (or empty, for the default)."""

    def parse(value: str) -> str:
        try:
            if value == "" or (re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) and date.fromisoformat(value)):
                return value
        except ValueError:
            pass
        raise argparse.ArgumentTypeError(f"{name} must be a date as YYYY-MM-DD, not {value!r}")

    return parse


def whole_number(name: str, low: int, high: int):
    """An argparse type: a whole number in [low, high]."""

    def parse(value: str) -> int:
        if not value.strip().isdigit() or not low <= int(value) <= high:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number from {low:,} to {high:,}, not {value!r}")
        return int(value)

    return parse


def main(argv: list[str] | None = None) -> int:
    from ecommerce.generation.config import MAX_ORDERS

    parser = OneLineParser(prog="python -m ecommerce_local")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the pipeline for a range of business dates")
    run.add_argument("--date", type=business_date("DATE"), default="",
                     help="last business date, YYYY-MM-DD (default: yesterday, UTC)")
    run.add_argument("--days", type=whole_number("DAYS", 1, 3660), default=14, help="how many dates ending at --date")
    run.add_argument("--start", type=business_date("START"), default="", help="first business date (overrides --days)")
    run.add_argument("--source", choices=("generate", "landing"), default="generate")
    run.add_argument("--landing", default="", help="landing folder for --source landing")
    run.add_argument("--orders", type=whole_number("ORDERS", 0, MAX_ORDERS), default=0,
                     help="orders per day (0: generator default)")

    exec_ = commands.add_parser("exec", help="run a command in the local environment")
    exec_.add_argument("--profile", choices=sorted(environment.PROFILES), default="run")
    exec_.add_argument("cmd", nargs=argparse.REMAINDER)

    commands.add_parser("stop", help="stop the embedded PostgreSQL server")

    args = parser.parse_args(argv)
    try:
        return _command(parser, args)
    except SetupProblem as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2


def _command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command == "stop":
        print("stopped" if warehouse.stop(environment.PGDATA) else "not running")
        return 0
    if args.command == "exec":
        cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        if not cmd:
            parser.error("exec needs a command after --")
        env = environment.build(environment.PROFILES[args.profile])
        os.execvpe(cmd[0], cmd, env)

    from ecommerce_local import pipeline_run

    env = environment.build(environment.PROFILES["run"])
    return pipeline_run.run(args, env)


if __name__ == "__main__":
    sys.exit(main())
