"""The raw file contract: which files a business date has and which columns each carries.

docs/data_contract.md is the user-facing copy. Columns are matched by header name, in any order.
"""

from __future__ import annotations

RAW_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": (
        "customer_id", "first_name", "last_name", "email", "phone", "address", "city", "state",
        "postal_code", "country", "signup_date", "updated_at",
    ),
    "products": (
        "product_id", "product_name", "category", "brand", "unit_price", "cost", "is_active",
        "updated_at",
    ),
    "transactions": (
        "transaction_id", "customer_id", "transaction_ts", "channel", "payment_method", "status",
        "shipping_cost",
    ),
    "transaction_items": (
        "transaction_id", "line_number", "product_id", "quantity", "unit_price", "discount",
    ),
}

#: The business key of each snapshot file. A snapshot line quarantined for a bad value still
#: shows that its key exists, so the key is read from the line where it can be.
SNAPSHOT_KEYS: dict[str, str] = {"customers": "customer_id", "products": "product_id"}

#: Load order: parents before children.
RAW_TABLES: tuple[str, ...] = tuple(RAW_COLUMNS)


def file_name(table: str) -> str:
    return f"{table}.csv"
