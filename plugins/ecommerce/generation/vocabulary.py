"""Word lists the generator samples from: Faker's vocabularies plus a hand-made catalog.

Faker is called a few thousand times, once per process, with a fixed seed; rows are then
built by indexing these arrays with numpy, never by calling Faker per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class Category:
    name: str
    price_range: tuple[float, float]
    popularity: float  # relative share of order lines (the catalog holds every category equally)
    nouns: tuple[str, ...]


CATEGORIES: tuple[Category, ...] = (
    Category("Electronics", (79, 1499), 0.05, ("Laptop", "Headphones", "Smartwatch", "Tablet", "Speaker", "Camera", "Monitor")),
    Category("Home & Kitchen", (12, 320), 0.12, ("Blender", "Cookware Set", "Knife Block", "Coffee Maker", "Toaster", "Lamp")),
    Category("Fashion", (15, 180), 0.13, ("Jacket", "Sneakers", "Jeans", "Dress", "Sweater", "Handbag")),
    Category("Beauty", (6, 90), 0.09, ("Serum", "Moisturizer", "Lipstick", "Shampoo", "Perfume")),
    Category("Sports & Outdoors", (10, 450), 0.08, ("Yoga Mat", "Tent", "Bike Helmet", "Dumbbells", "Backpack")),
    Category("Books", (6, 45), 0.08, ("Novel", "Cookbook", "Biography", "Guide", "Atlas")),
    Category("Toys & Games", (8, 120), 0.07, ("Puzzle", "Board Game", "Building Set", "Doll", "RC Car")),
    Category("Grocery", (3, 40), 0.09, ("Coffee Beans", "Olive Oil", "Tea Sampler", "Granola", "Chocolate")),
    Category("Health", (5, 110), 0.05, ("Vitamins", "Protein Powder", "Thermometer", "First Aid Kit")),
    Category("Automotive", (9, 260), 0.04, ("Dash Cam", "Car Vacuum", "Floor Mats", "Jump Starter")),
    Category("Pet Supplies", (5, 95), 0.05, ("Dog Bed", "Cat Tree", "Pet Food", "Leash")),
    Category("Office", (4, 380), 0.04, ("Desk Chair", "Notebook Set", "Pen Pack", "Desk Organizer")),
)

ADJECTIVES = ("Classic", "Pro", "Essential", "Ultra", "Compact", "Premium", "Eco", "Smart", "Deluxe", "Lite")
CHANNELS = ("web", "mobile_app", "marketplace")
PAYMENT_METHODS = ("credit_card", "paypal", "debit_card", "apple_pay", "gift_card")
STATUSES = ("completed", "cancelled", "returned", "pending")
COUNTRIES = ("US", "CA", "GB", "DE", "AU")


@dataclass(frozen=True)
class Vocabulary:
    first_names: np.ndarray
    last_names: np.ndarray
    last_names_lower: np.ndarray
    streets: np.ndarray
    cities: np.ndarray
    states: np.ndarray
    postal_codes: np.ndarray
    email_domains: np.ndarray
    at_domains: np.ndarray  # "@domain", to build emails with one string addition
    first_names_dot: np.ndarray  # "first." lowercased
    phone_prefixes: np.ndarray  # "+1-AAA-BBB-"
    brands: tuple[np.ndarray, ...]  # per category
    colors: np.ndarray


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """Build the word lists once per process; the same on every machine for a pinned Faker."""
    from faker import Faker
    from faker.providers.internet.en_US import Provider as InternetProvider
    from faker.providers.person.en_US import Provider as PersonProvider

    fake = Faker("en_US")
    fake.seed_instance(20240101)
    places = []
    for _ in range(400):
        state = fake.state_abbr(include_territories=False, include_freely_associated_states=False)
        places.append((fake.city(), state, fake.postcode_in_state(state)))
    domains = list(InternetProvider.free_email_domains) + sorted({fake.free_email_domain() for _ in range(50)})
    domains += [fake.domain_name() for _ in range(12)]
    brands = tuple(np.array(sorted({fake.last_name() for _ in range(12)})[:5], dtype=object) for _ in CATEGORIES)
    first_names = sorted(PersonProvider.first_names)
    last_names = sorted(PersonProvider.last_names)
    return Vocabulary(
        first_names=np.array(first_names, dtype=object),
        last_names=np.array(last_names, dtype=object),
        first_names_dot=np.array([name.lower() + "." for name in first_names], dtype=object),
        last_names_lower=np.array([name.lower() for name in last_names], dtype=object),
        streets=np.array([fake.street_name() for _ in range(800)], dtype=object),
        cities=np.array([p[0] for p in places], dtype=object),
        states=np.array([p[1] for p in places], dtype=object),
        postal_codes=np.array([p[2] for p in places], dtype=object),
        email_domains=np.array(list(dict.fromkeys(domains)), dtype=object),
        at_domains=np.array(["@" + domain for domain in dict.fromkeys(domains)], dtype=object),
        phone_prefixes=np.array(sorted({f"+1-{fake.numerify('%##')}-{fake.numerify('%##')}-" for _ in range(3000)}),
                                dtype=object),
        brands=brands,
        colors=np.array(sorted({fake.color_name() for _ in range(200)}), dtype=object),
    )
