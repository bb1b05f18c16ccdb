"""The simulated shop: who the customers are and what the catalog holds on any date.

Everything is a pure function of the seed and the date. Each customer's and product's whole
life — sign-up, changes, deletion, price moves — is drawn up front from random streams keyed
by (seed, stream, block), so any date can be produced alone and in any order, and yields the
same rows. Times are measured in days since the epoch (floats).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ecommerce.generation.config import GeneratorConfig
from ecommerce.generation.vocabulary import ADJECTIVES, CATEGORIES, COUNTRIES, vocabulary

BLOCK = 8192  # customers drawn per random stream
MAX_EVENTS = 8  # changes per customer or product we keep track of
HORIZON_DAYS = 20_000
OPENING_BASE_DAYS = 730  # the opening base joined over the two years before the epoch
PRODUCTS_CREATED = -365.0

# Random stream ids: one per kind of draw, so adding a draw never shifts another.
CUSTOMER_STREAM, SIGNUP_STREAM, PRODUCT_STREAM = 11, 10, 20


def rng(config: GeneratorConfig, *key: int) -> np.random.Generator:
    return np.random.default_rng([config.seed, *key])


@dataclass(frozen=True)
class Customers:
    """Arrays over customers 1..n (index = id - 1)."""

    customer_id: np.ndarray
    signup: np.ndarray  # day, float
    deleted: np.ndarray  # day of deletion at the source (may lie beyond the horizon)
    events: np.ndarray  # (n, MAX_EVENTS) change times, increasing
    event_is_email: np.ndarray  # (n, MAX_EVENTS) bool: email change, else address change
    weight: np.ndarray  # propensity to order (Pareto)
    first: np.ndarray
    last: np.ndarray
    domain: np.ndarray  # email domain index of the first email; later versions step from it
    street_number: np.ndarray  # of the first address; later versions step from it
    street: np.ndarray
    place: np.ndarray
    phone_prefix: np.ndarray
    phone_line: np.ndarray
    country: np.ndarray


@lru_cache(maxsize=4)
def signup_counts(config: GeneratorConfig) -> np.ndarray:
    """Cumulative number of customers who joined by the end of each day since the epoch."""
    daily = rng(config, SIGNUP_STREAM).poisson(config.new_customers, HORIZON_DAYS)
    return config.customers + np.cumsum(daily)


def customers_known_by(config: GeneratorConfig, day: int) -> int:
    """How many customer ids exist by the end of ``day``."""
    return int(signup_counts(config)[day])


def _customer_block(config: GeneratorConfig, block: int) -> Customers:
    g = rng(config, CUSTOMER_STREAM, block)
    ids = np.arange(block * BLOCK + 1, (block + 1) * BLOCK + 1)
    n = len(ids)
    vocab = vocabulary()
    cumulative = signup_counts(config)
    day_of_id = np.searchsorted(cumulative, ids, side="left")  # day whose sign-ups include the id
    opening = ids <= config.customers
    signup = np.where(opening, -g.uniform(0, OPENING_BASE_DAYS, n), day_of_id + g.uniform(0.02, 0.98, n))
    change_rate = max(config.customer_change_rate, 1e-12)
    delete_rate = max(config.customer_delete_rate, 1e-12)
    events = signup[:, None] + np.cumsum(g.exponential(1 / change_rate, (n, MAX_EVENTS)), axis=1)
    return Customers(
        customer_id=ids,
        signup=signup,
        deleted=signup + g.exponential(1 / delete_rate, n),
        events=events,
        event_is_email=g.random((n, MAX_EVENTS)) < 0.5,
        weight=g.pareto(1.3, n) + 0.05,
        first=g.integers(0, len(vocab.first_names), n),
        last=g.integers(0, len(vocab.last_names), n),
        domain=g.integers(0, len(vocab.email_domains), n),
        street_number=g.integers(1, 9999, n),
        street=g.integers(0, len(vocab.streets), n),
        place=g.integers(0, len(vocab.cities), n),
        phone_prefix=g.integers(0, len(vocab.phone_prefixes), n),
        phone_line=g.integers(0, 10_000, n),
        country=g.choice(len(COUNTRIES), n, p=[0.78, 0.08, 0.07, 0.04, 0.03]),
    )


def version_of(first: np.ndarray, version: np.ndarray, size: int) -> np.ndarray:
    """The index of a changed attribute's ``version``-th value: a fixed stride from the first."""
    return (first + version * 7919) % size


def customers_until(config: GeneratorConfig, count: int) -> Customers:
    """Customers 1..count, drawn block by block."""
    blocks = [_cached_block(config, b) for b in range((count - 1) // BLOCK + 1)]
    fields = Customers.__dataclass_fields__
    return Customers(**{name: np.concatenate([getattr(b, name) for b in blocks])[:count] for name in fields})


@lru_cache(maxsize=256)
def _cached_block(config: GeneratorConfig, block: int) -> Customers:
    return _customer_block(config, block)


@dataclass(frozen=True)
class Products:
    product_id: np.ndarray
    category: np.ndarray
    brand: np.ndarray
    adjective: np.ndarray
    noun: np.ndarray
    color: np.ndarray
    base_price: np.ndarray
    cost_ratio: np.ndarray
    popularity: np.ndarray
    price_events: np.ndarray  # (n, MAX_EVENTS) times of price changes
    price_factors: np.ndarray  # (n, MAX_EVENTS) cumulative price multipliers after each change
    discontinued: np.ndarray  # day


@lru_cache(maxsize=4)
def products(config: GeneratorConfig) -> Products:
    g = rng(config, PRODUCT_STREAM)
    n = config.products
    category = g.integers(0, len(CATEGORIES), n)
    low = np.array([CATEGORIES[c].price_range[0] for c in category])
    high = np.array([CATEGORIES[c].price_range[1] for c in category])
    price_rate = max(config.price_change_rate, 1e-12)
    discontinue_rate = max(config.discontinue_rate, 1e-12)
    return Products(
        product_id=np.arange(1, n + 1),
        category=category,
        brand=g.integers(0, 5, n),
        adjective=g.integers(0, len(ADJECTIVES), n),
        noun=np.array([g.integers(0, len(CATEGORIES[c].nouns)) for c in category]),
        color=g.integers(0, len(vocabulary().colors), n),
        base_price=np.round(np.exp(g.uniform(np.log(low), np.log(high))), 0) - 0.01,
        cost_ratio=g.uniform(0.45, 0.75, n),
        popularity=g.lognormal(0, 1.0, n),
        price_events=np.cumsum(g.exponential(1 / price_rate, (n, MAX_EVENTS)), axis=1),
        price_factors=np.cumprod(g.uniform(0.85, 1.15, (n, MAX_EVENTS)), axis=1),
        discontinued=g.exponential(1 / discontinue_rate, n),
    )


def price_at(catalog: Products, index: np.ndarray, time: np.ndarray) -> np.ndarray:
    """Unit price of products ``index`` at times ``time`` (arrays of equal length)."""
    changes = (catalog.price_events[index] <= time[:, None]).sum(axis=1)
    factor = np.ones(len(index))
    changed = changes > 0
    factor[changed] = catalog.price_factors[index[changed], changes[changed] - 1]
    return np.round(catalog.base_price[index] * factor, 2)
