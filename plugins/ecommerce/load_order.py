"""Business dates load as one contiguous history, each new date right after the newest.

Customer and product files are snapshots and SCD2 versions are stacked from them in date
order, so a run is refused — with a message naming the date it waits for — when its date would
leave a hole (a date after the day following the newest loaded date) or would land before the
start of the history (a date older than the first loaded one). Re-running any date already
loaded is fine and changes nothing; a refused run can run once the dates before it are loaded
(``make backfill``, or ``airflow backfill create``). To load dates before the start of the
history, rebuild: an empty warehouse, then the dates in order.
"""

from __future__ import annotations

from datetime import date, timedelta


class OutOfOrderDate(RuntimeError):
    """A business date that would break the contiguous history."""


def claim(cursor, business_date: str) -> None:
    """Refuse ``business_date`` if it does not extend or repeat the history; else record it."""
    cursor.execute("lock table audit.loaded_dates in exclusive mode")
    cursor.execute(
        "select min(business_date), max(business_date), bool_or(business_date = %s) from audit.loaded_dates",
        (business_date,))
    first, newest, seen = cursor.fetchone()
    wanted = date.fromisoformat(business_date)
    if first is not None and not seen:
        following = newest + timedelta(days=1)
        if wanted > following:
            raise OutOfOrderDate(
                f"business date {business_date} waits for {following}: the newest loaded date is {newest}, "
                f"and history is loaded without gaps. Load {following} .. {wanted - timedelta(days=1)} first "
                f"(make backfill START={following} END={business_date}).")
        if wanted < first:
            raise OutOfOrderDate(
                f"business date {business_date} is before the first loaded date {first}: SCD2 history starts "
                f"there and cannot grow backwards. Rebuild from an empty warehouse and load the dates in order "
                f"from {business_date}.")
    cursor.execute(
        "insert into audit.loaded_dates (business_date) values (%s) on conflict do nothing", (business_date,))
