"""Business dates load in order: a date older than the newest one already loading is refused.

Customer and product files are snapshots, and SCD2 versions are stacked from them in date
order. Applying an older snapshot after a newer one would mark customers that joined in
between as deleted and rewrite history, so such a run stops with a message instead. Re-running
the newest date is fine, and so is skipping ahead (a gap only loses the versions in between).
To load an older date, rebuild: an empty warehouse, then the dates in order (make backfill).
"""

from __future__ import annotations


class OutOfOrderDate(RuntimeError):
    """A business date older than one whose load has already started."""


def claim(cursor, business_date: str) -> None:
    """Refuse ``business_date`` if a later date has started loading; else record it."""
    cursor.execute("lock table audit.loaded_dates in exclusive mode")
    cursor.execute("select max(business_date)::text from audit.loaded_dates")
    newest = cursor.fetchone()[0]
    if newest is not None and business_date < newest:
        raise OutOfOrderDate(
            f"business date {business_date} is older than {newest}, which is already loaded: "
            f"loading it now would rewrite SCD2 history out of order. Rebuild from an empty "
            f"warehouse and load the dates in order from {business_date} (make backfill)."
        )
    cursor.execute(
        "insert into audit.loaded_dates (business_date) values (%s) on conflict do nothing", (business_date,))
