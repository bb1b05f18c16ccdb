"""Settings of the data generator. Every field is a DAG-run conf value and a CLI flag."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

#: Day 0 of the generated world. Customers who joined earlier form the opening base.
EPOCH = date(2024, 1, 1)
#: Above this, defects would stop being exceptions (and added ids could collide).
MAX_DEFECT_RATE = 0.05
#: The most orders per day the generator accepts: about 3.6 million lines, which a 2-core, 24 GiB
#: machine generates in bounded memory (orders are drawn in chunks); far more would only fill
#: the disk and the warehouse.
MAX_ORDERS = 2_000_000


@dataclass(frozen=True)
class GeneratorConfig:
    """What the generated shop looks like.

    :param seed: the world's seed; the same seed, date and config give byte-identical files.
    :param orders: average orders on an ordinary weekday before seasonality and growth.
    :param customers: customers who joined before the epoch (the opening base).
    :param new_customers: average sign-ups per day after the epoch.
    :param products: catalog size.
    :param customer_change_rate: chance per customer per day of an email or address change.
    :param customer_delete_rate: chance per customer per day of being deleted at the source.
    :param price_change_rate: chance per product per day of a price change.
    :param discontinue_rate: chance per product per day of being discontinued.
    :param defect_rate: share of rows given a labelled defect (0 turns defects off).
    """

    seed: int = 42
    orders: int = 2000
    customers: int = 10000
    new_customers: int = 30
    products: int = 400
    customer_change_rate: float = 0.002
    customer_delete_rate: float = 0.0002
    price_change_rate: float = 0.004
    discontinue_rate: float = 0.0001
    defect_rate: float = 0.002

    def __post_init__(self) -> None:
        for name in ("orders", "customers", "products"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.orders > MAX_ORDERS:
            raise ValueError(f"orders must be at most {MAX_ORDERS:,} a day, not {self.orders:,}")
        if self.new_customers < 0:
            raise ValueError("new_customers must not be negative")
        for name in ("customer_change_rate", "customer_delete_rate", "price_change_rate",
                     "discontinue_rate"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1)")
        if not 0 <= self.defect_rate <= MAX_DEFECT_RATE:
            raise ValueError(f"defect_rate must be in [0, {MAX_DEFECT_RATE}]")

    def as_dict(self) -> dict:
        return asdict(self)


def day_index(business_date: date) -> int:
    """Days since the epoch; the generator refuses dates before it."""
    days = (business_date - EPOCH).days
    if days < 0:
        raise ValueError(f"business date {business_date} is before the generator's epoch {EPOCH}")
    return days
