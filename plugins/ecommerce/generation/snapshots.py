"""The customer and product files of a date: every live record as of the end of that day."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecommerce.generation.config import GeneratorConfig
from ecommerce.generation.timestamps import iso_dates, iso_timestamps
from ecommerce.generation.vocabulary import ADJECTIVES, CATEGORIES, COUNTRIES, vocabulary
from ecommerce.generation.world import (
    PRODUCTS_CREATED,
    customers_known_by,
    customers_until,
    price_at,
    products,
    version_of,
)


NUMBERS_4 = np.array([f"{n:04d}" for n in range(10_000)], dtype=object)
HOUSE_NUMBERS = np.array([f"{n} " for n in range(10_001)], dtype=object)
#: The number in an email's local part: the customer's own (id % 997), then the email version.
EMAIL_NUMBERS = np.array([f"{n // 10}{n % 10 or ''}" for n in range(9970)], dtype=object)


def _last_event(events: np.ndarray, mask: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Time of the latest masked event, or ``start`` when there is none."""
    return np.maximum(start, np.where(mask, events, -np.inf).max(axis=1))


def customer_snapshot(config: GeneratorConfig, day: int) -> pd.DataFrame:
    """Customers who joined by the end of ``day`` and were not deleted by then."""
    end = day + 1.0
    everyone = customers_until(config, customers_known_by(config, day))
    live = (everyone.signup < end) & (everyone.deleted >= end)
    c = type(everyone)(**{k: getattr(everyone, k)[live] for k in everyone.__dataclass_fields__})
    vocab = vocabulary()

    happened = c.events < end
    email_changes = (happened & c.event_is_email).sum(axis=1)
    address_changes = (happened & ~c.event_is_email).sum(axis=1)
    # Strings are built by adding object arrays (one C loop per piece), not per-row formatting.
    domain = version_of(c.domain, email_changes, len(vocab.email_domains))
    street = version_of(c.street, address_changes, len(vocab.streets))
    place = version_of(c.place, address_changes, len(vocab.cities))
    number = version_of(c.street_number, address_changes, 9999) + 1
    email = (vocab.first_names_dot[c.first] + vocab.last_names_lower[c.last]
             + EMAIL_NUMBERS[(c.customer_id % 997) * 10 + np.minimum(email_changes, 9)] + vocab.at_domains[domain])

    return pd.DataFrame({
        "customer_id": c.customer_id,
        "first_name": vocab.first_names[c.first],
        "last_name": vocab.last_names[c.last],
        "email": email,
        "phone": vocab.phone_prefixes[c.phone_prefix] + NUMBERS_4[c.phone_line],
        "address": HOUSE_NUMBERS[number] + vocab.streets[street],
        "city": vocab.cities[place],
        "state": vocab.states[place],
        "postal_code": vocab.postal_codes[place],
        "country": np.array(COUNTRIES, dtype=object)[c.country],
        "signup_date": iso_dates(c.signup),
        "updated_at": iso_timestamps(_last_event(c.events, happened, c.signup)),
    })


def product_snapshot(config: GeneratorConfig, day: int) -> pd.DataFrame:
    """The whole catalog at the end of ``day``; discontinued products stay, inactive."""
    end = day + 1.0
    p = products(config)
    vocab = vocabulary()
    index = np.arange(len(p.product_id))
    price = price_at(p, index, np.full(len(index), end))
    discontinued = p.discontinued < end
    price_changed = np.where(p.price_events < end, p.price_events, -np.inf).max(axis=1)
    updated = np.maximum(PRODUCTS_CREATED, np.maximum(price_changed, np.where(discontinued, p.discontinued, -np.inf)))
    names = [
        f"{vocab.brands[cat][brand]} {vocab.colors[color]} {ADJECTIVES[adj]} {CATEGORIES[cat].nouns[noun]}"
        for cat, brand, color, adj, noun in zip(p.category, p.brand, p.color, p.adjective, p.noun)
    ]
    return pd.DataFrame({
        "product_id": p.product_id,
        "product_name": names,
        "category": [CATEGORIES[cat].name for cat in p.category],
        "brand": [vocab.brands[cat][brand] for cat, brand in zip(p.category, p.brand)],
        "unit_price": price,
        "cost": np.round(price * p.cost_ratio, 2),
        "is_active": np.where(discontinued, "false", "true"),
        "updated_at": iso_timestamps(updated),
    })
