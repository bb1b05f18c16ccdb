"""The customer and product files of a date: every live record as of the end of that day."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecommerce.generation.config import GeneratorConfig
from ecommerce.generation.timestamps import iso_dates, iso_timestamps
from ecommerce.generation.vocabulary import ADJECTIVES, CATEGORIES, COUNTRIES, vocabulary
from ecommerce.generation.world import PRODUCTS_CREATED, customers_known_by, customers_until, price_at, products


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
    rows = np.arange(len(c.customer_id))

    happened = c.events < end
    email_changes = (happened & c.event_is_email).sum(axis=1)
    address_changes = (happened & ~c.event_is_email).sum(axis=1)
    first = vocab.first_names[c.first]
    last = vocab.last_names[c.last]

    local = pd.Series(first).str.lower() + "." + pd.Series(last).str.lower() + (c.customer_id % 997).astype(str)
    suffix = pd.Series(np.where(email_changes > 0, email_changes.astype(str), ""))
    domain = pd.Series(vocab.email_domains[c.domain[rows, email_changes]])
    street = c.street_number[rows, address_changes].astype(str).astype(object) + " " + vocab.streets[c.street[rows, address_changes]]
    place = c.place[rows, address_changes]
    phone = pd.Series(c.phone.astype(str))

    return pd.DataFrame({
        "customer_id": c.customer_id,
        "first_name": first,
        "last_name": last,
        "email": (local + suffix + "@" + domain).to_numpy(),
        "phone": ("+1-" + phone.str[:3] + "-" + phone.str[3:6] + "-" + phone.str[6:]).to_numpy(),
        "address": street,
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
