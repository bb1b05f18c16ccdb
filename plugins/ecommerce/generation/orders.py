"""The orders of a date: transactions and their lines, drawn in chunks of bounded size.

Order volume follows the weekday (weekends busier), the season (a November-December peak)
and slow growth. Customers are picked by a Pareto propensity, so a minority of repeat
customers brings most of the revenue; customers who join that day often order at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd

from ecommerce.generation.config import EPOCH, GeneratorConfig
from ecommerce.generation.timestamps import iso_timestamps
from ecommerce.generation.vocabulary import CATEGORIES, CHANNELS, PAYMENT_METHODS, STATUSES
from ecommerce.generation.world import Products, customers_known_by, customers_until, price_at, products, rng

ORDER_STREAM, LINE_STREAM = 30, 31
ORDERS_PER_CHUNK = 100_000
#: Transaction ids are day-scoped so any date is numbered without knowing the others.
IDS_PER_DAY = 10_000_000

WEEKDAY_FACTOR = np.array([1.0, 0.97, 0.98, 1.0, 1.05, 1.32, 1.28])  # Monday .. Sunday
MONTH_FACTOR = np.array([0.85, 0.82, 0.92, 0.95, 0.98, 0.97, 0.95, 0.98, 1.0, 1.05, 1.35, 1.55])
HOUR_WEIGHTS = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 4, 4.5, 5, 5.5, 5, 4.5, 4.5, 5,
                         5.5, 6.5, 7.5, 8, 7, 5, 2.5])


@dataclass(frozen=True)
class OrderChunk:
    transactions: pd.DataFrame
    items: pd.DataFrame


@dataclass(frozen=True)
class ChunkPlan:
    """What one chunk of a day's orders is drawn from: its customers and times, and the
    catalog. Drawing a chunk needs nothing else, so chunks can be drawn in any process."""

    config: GeneratorConfig
    day: int
    number: int
    first: int  # the chunk's first order, counted from the day's first
    customer_id: np.ndarray
    when: np.ndarray
    catalog: Products
    active: np.ndarray
    product_p: np.ndarray


def expected_orders(config: GeneratorConfig, day: int) -> float:
    date = EPOCH + timedelta(days=day)
    growth = 1 + 0.0004 * day
    return config.orders * WEEKDAY_FACTOR[date.weekday()] * MONTH_FACTOR[date.month - 1] * growth


def plan_chunks(config: GeneratorConfig, day: int) -> list[ChunkPlan]:
    """Who orders on the day and when, split into chunks of at most ORDERS_PER_CHUNK orders."""
    g = rng(config, ORDER_STREAM, day)
    count = int(g.poisson(expected_orders(config, day)))
    start, end = float(day), day + 1.0

    # Who orders: the live customer base by Pareto propensity, plus some of the day's sign-ups.
    known = customers_until(config, customers_known_by(config, day))
    live = (known.signup < start) & (known.deleted >= end)
    joined = (known.signup >= start) & (known.signup < end) & (known.deleted >= end)
    newcomers = np.flatnonzero(joined)
    newcomers = newcomers[g.random(len(newcomers)) < 0.4][:count]
    base = np.flatnonzero(live)
    weights = known.weight[base] / known.weight[base].sum()
    regulars = base[g.choice(len(base), count - len(newcomers), p=weights)] if len(base) else np.array([], int)
    who = np.concatenate([newcomers, regulars]).astype(np.int64)
    hour = g.choice(24, len(regulars), p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    regular_time = start + (hour + g.random(len(regulars))) / 24
    newcomer_time = np.minimum(known.signup[newcomers] + g.uniform(2, 180, len(newcomers)) / 1440, end - 1e-6)
    when = np.concatenate([newcomer_time, regular_time])
    order = np.argsort(when, kind="stable")
    who, when = who[order], when[order]

    catalog = products(config)
    active = np.flatnonzero(catalog.discontinued >= end)
    # Each category gets its share of lines; its products split that share by popularity.
    category = catalog.category[active]
    within = catalog.popularity[active] / np.bincount(category, catalog.popularity[active], len(CATEGORIES))[category]
    product_p = np.array([c.popularity for c in CATEGORIES])[category] * within
    product_p /= product_p.sum()

    return [
        ChunkPlan(config, day, number, first, known.customer_id[who[first:first + ORDERS_PER_CHUNK]],
                  when[first:first + ORDERS_PER_CHUNK], catalog, active, product_p)
        for number, first in enumerate(range(0, len(who), ORDERS_PER_CHUNK))
    ]


def draw_chunk(plan: ChunkPlan) -> OrderChunk:
    """The chunk's orders and their lines, from the chunk's own random stream."""
    g = rng(plan.config, LINE_STREAM, plan.day, plan.number)
    catalog, active, product_p, when = plan.catalog, plan.active, plan.product_p, plan.when
    customer_id = plan.customer_id
    n = len(customer_id)
    transaction_id = (plan.day + 1) * IDS_PER_DAY + plan.first + 1 + np.arange(n)

    lines_per_order = np.minimum(1 + g.poisson(0.8, n), 8)
    order_of_line = np.repeat(np.arange(n), lines_per_order)
    line_number = np.arange(len(order_of_line)) - np.repeat(np.cumsum(lines_per_order) - lines_per_order, lines_per_order) + 1
    product_index = active[g.choice(len(active), len(order_of_line), p=product_p)]
    unit_price = price_at(catalog, product_index, when[order_of_line])
    quantity = np.minimum(1 + g.poisson(0.35, len(order_of_line)), 10)
    discount = g.choice([0.0, 0.05, 0.1, 0.15, 0.2, 0.3], len(order_of_line), p=[0.64, 0.1, 0.12, 0.07, 0.05, 0.02])

    subtotal = np.bincount(order_of_line, weights=quantity * unit_price * (1 - discount), minlength=n)
    shipping = np.where(subtotal >= 50, 0.0, g.choice([4.99, 6.99, 9.99], n, p=[0.6, 0.3, 0.1]))
    transactions = pd.DataFrame({
        "transaction_id": transaction_id,
        "customer_id": customer_id,
        "transaction_ts": iso_timestamps(when),
        "channel": np.array(CHANNELS, dtype=object)[g.choice(len(CHANNELS), n, p=[0.5, 0.38, 0.12])],
        "payment_method": np.array(PAYMENT_METHODS, dtype=object)[g.choice(len(PAYMENT_METHODS), n, p=[0.45, 0.2, 0.2, 0.1, 0.05])],
        "status": np.array(STATUSES, dtype=object)[g.choice(len(STATUSES), n, p=[0.86, 0.05, 0.06, 0.03])],
        "shipping_cost": shipping,
    })
    items = pd.DataFrame({
        "transaction_id": transaction_id[order_of_line],
        "line_number": line_number,
        "product_id": catalog.product_id[product_index],
        "quantity": quantity,
        "unit_price": unit_price,
        "discount": discount,
    })
    return OrderChunk(transactions, items)
