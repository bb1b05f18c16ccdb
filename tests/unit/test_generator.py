"""The data generator: deterministic, contract-shaped, realistic, with exactly counted defects."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from ecommerce.contract import RAW_COLUMNS
from ecommerce.generation import orders
from ecommerce.generation.config import GeneratorConfig
from ecommerce.generation.defects import UNKNOWN_ID_BASE
from ecommerce.generation.writer import generate_day
from ecommerce.raw_files import Malformed, scan_records
from ecommerce.settings import PROJECT_ROOT

SMALL = GeneratorConfig(seed=7, orders=300, customers=2000, new_customers=10, products=120)
DAY = date(2026, 11, 20)


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_date_and_config_give_byte_identical_files(tmp_path):
    generate_day(SMALL, DAY, tmp_path / "a")
    generate_day(SMALL, DAY, tmp_path / "b")
    assert digests(tmp_path / "a" / DAY.isoformat()) == digests(tmp_path / "b" / DAY.isoformat())


def test_a_day_drawn_by_worker_processes_is_the_day_drawn_alone(tmp_path, monkeypatch):
    """A day of several chunks (here about eight, with defects in each) comes out byte for byte
    the same, and with the same manifest, whether one process draws it or three."""
    monkeypatch.setattr(orders, "ORDERS_PER_CHUNK", 40)
    config = GeneratorConfig(**{**SMALL.as_dict(), "defect_rate": 0.03})
    alone = generate_day(config, DAY, tmp_path / "alone", workers=1)
    drawn = generate_day(config, DAY, tmp_path / "workers", workers=3)
    assert drawn == alone and sum(alone["defects"]["transaction_items"].values()) > 0
    assert digests(tmp_path / "alone" / DAY.isoformat()) == digests(tmp_path / "workers" / DAY.isoformat())
    lines = (tmp_path / "workers" / DAY.isoformat() / "transactions.csv").read_text().splitlines()
    assert lines[0] == ",".join(RAW_COLUMNS["transactions"]) and lines.count(lines[0]) == 1
    assert alone["files"]["transactions.csv"]["rows"] == len(lines) - 1 > 7 * 40


def test_another_seed_gives_other_data(tmp_path):
    generate_day(SMALL, DAY, tmp_path / "a")
    generate_day(GeneratorConfig(**{**SMALL.as_dict(), "seed": 8}), DAY, tmp_path / "b")
    assert digests(tmp_path / "a" / DAY.isoformat()) != digests(tmp_path / "b" / DAY.isoformat())


def test_a_date_comes_out_the_same_alone_or_after_others(tmp_path):
    generate_day(SMALL, DAY, tmp_path / "alone")
    for offset in (3, -40, 1, 0):
        generate_day(SMALL, DAY + timedelta(days=offset), tmp_path / "mixed")
    assert digests(tmp_path / "alone" / DAY.isoformat()) == digests(tmp_path / "mixed" / DAY.isoformat())


def test_manifest_has_counts_hashes_version_seed_and_config(tmp_path):
    manifest = generate_day(SMALL, DAY, tmp_path)
    folder = tmp_path / DAY.isoformat()
    assert manifest == json.loads((folder / "manifest.json").read_text())
    assert manifest["seed"] == 7 and manifest["config"] == SMALL.as_dict() and manifest["generator_version"]
    for table in RAW_COLUMNS:
        entry = manifest["files"][f"{table}.csv"]
        path = folder / f"{table}.csv"
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert entry["rows"] == len(path.read_text().splitlines()) - 1 > 0


def test_headers_and_values_follow_the_contract(tmp_path):
    generate_day(GeneratorConfig(**{**SMALL.as_dict(), "defect_rate": 0}), DAY, tmp_path)
    folder = tmp_path / DAY.isoformat()
    frames = {t: pd.read_csv(folder / f"{t}.csv", dtype=str, keep_default_na=False) for t in RAW_COLUMNS}
    for table, frame in frames.items():
        assert tuple(frame.columns) == RAW_COLUMNS[table]
        assert (frame != "").all().all(), table
    customers, products = frames["customers"], frames["products"]
    transactions, items = frames["transactions"], frames["transaction_items"]
    assert customers["customer_id"].is_unique and products["product_id"].is_unique
    assert customers["email"].str.fullmatch(r"[a-z0-9.]+@[a-z0-9.-]+\.[a-z]{2,}").all()
    assert customers["country"].str.fullmatch(r"[A-Z]{2}").all()
    pd.to_datetime(customers["signup_date"], format="%Y-%m-%d")
    assert customers["updated_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    assert (products["unit_price"].astype(float) > 0).all() and products["is_active"].isin(["true", "false"]).all()
    assert transactions["transaction_ts"].str.startswith(DAY.isoformat()).all()
    assert transactions["status"].isin(["completed", "cancelled", "returned", "pending"]).all()
    assert set(transactions["customer_id"]) <= set(customers["customer_id"])
    assert set(items["transaction_id"]) == set(transactions["transaction_id"])
    assert set(items["product_id"]) <= set(products.loc[products["is_active"] == "true", "product_id"])
    assert (items["quantity"].astype(int) > 0).all()
    discount = items["discount"].astype(float)
    assert ((discount >= 0) & (discount < 1)).all()


@pytest.fixture(scope="module")
def month(tmp_path_factory) -> dict[str, pd.DataFrame]:
    """Thirty days of clean files, read into frames."""
    out = tmp_path_factory.mktemp("month")
    config = GeneratorConfig(**{**SMALL.as_dict(), "defect_rate": 0})
    start = date(2026, 10, 1)
    frames: dict[str, list[pd.DataFrame]] = {"transactions": [], "transaction_items": [], "products": []}
    for offset in range(30):
        day = start + timedelta(days=offset)
        generate_day(config, day, out)
        for table in frames:
            frame = pd.read_csv(out / day.isoformat() / f"{table}.csv")
            frames[table].append(frame.assign(day=day))
    return {table: pd.concat(parts, ignore_index=True) for table, parts in frames.items()}


def completed_lines(month) -> pd.DataFrame:
    orders = month["transactions"][month["transactions"]["status"] == "completed"]
    lines = month["transaction_items"].merge(orders[["transaction_id", "customer_id", "day"]], on=["transaction_id", "day"])
    return lines.assign(revenue=lines["quantity"] * lines["unit_price"] * (1 - lines["discount"]))


def test_electronics_is_the_top_revenue_category(month):
    lines = completed_lines(month)
    catalog = month["products"].drop_duplicates("product_id")[["product_id", "category"]]
    by_category = lines.merge(catalog, on="product_id").groupby("category")["revenue"].sum()
    assert by_category.idxmax() == "Electronics"
    assert len(by_category) == 12


def test_weekends_have_more_orders_than_weekdays(month):
    per_day = month["transactions"].groupby("day").size()
    weekend = per_day[[d.weekday() >= 5 for d in per_day.index]]
    weekday = per_day[[d.weekday() < 5 for d in per_day.index]]
    assert 1.15 <= weekend.mean() / weekday.mean() <= 1.5


def test_repeat_customers_bring_most_revenue(month):
    lines = completed_lines(month)
    orders_per_customer = lines.groupby("customer_id")["transaction_id"].nunique()
    revenue = lines.groupby("customer_id")["revenue"].sum()
    assert revenue[orders_per_customer > 1].sum() / revenue.sum() > 0.5


def test_defect_counts_in_the_manifest_equal_the_defects_in_the_files(tmp_path):
    config = GeneratorConfig(**{**SMALL.as_dict(), "defect_rate": 0.03})
    manifest = generate_day(config, DAY, tmp_path)
    folder = tmp_path / DAY.isoformat()
    found: dict[str, dict[str, int]] = {}
    for table, columns in RAW_COLUMNS.items():
        counts: dict[str, int] = {}
        records = []
        for item in scan_records(folder / f"{table}.csv", len(columns)):
            if isinstance(item, Malformed):
                counts[item.reason] = counts.get(item.reason, 0) + 1
            else:
                records.append(item.fields)
        frame = pd.DataFrame(records, columns=columns)
        counts.update(detect(table, frame))
        found[table] = {kind: n for kind, n in counts.items() if n}
    assert found == manifest["defects"]
    assert sum(sum(kinds.values()) for kinds in found.values()) > 30


def detect(table: str, frame: pd.DataFrame) -> dict[str, int]:
    """Find each defect kind in a parsed file by its own signature, independently of the generator."""
    numeric = lambda column: pd.to_numeric(frame[column], errors="coerce")  # noqa: E731
    if table == "customers":
        stale = frame["first_name"].str.endswith(" (stale)")
        invalid = frame["email"].str.contains(" at ")
        bad_date = frame["signup_date"] == "2026-02-30"
        duplicated = frame.duplicated(keep="first")
        noisy = frame["email"].str.startswith("  ") & ~(stale | invalid | bad_date | duplicated)
        return {
            "exact_duplicate": int(duplicated.sum()),
            "duplicate_key_conflict": int(stale.sum()),
            "invalid_email": int(invalid.sum()),
            "unparseable_date": int(bad_date.sum()),
            "missing_required_value": int((frame["email"] == "").sum()),
            "whitespace_case_noise": int(noisy.sum()),
        }
    if table == "products":
        return {
            "exact_duplicate": int(frame.duplicated().sum()),
            "duplicate_key_conflict": int(frame["product_name"].str.endswith(" (stale)").sum()),
            "negative_price": int((numeric("unit_price") < 0).sum()),
            "unparseable_number": int(numeric("unit_price").isna().sum()),
        }
    if table == "transactions":
        return {
            "exact_duplicate": int(frame.duplicated().sum()),
            "unknown_customer": int((numeric("customer_id") >= UNKNOWN_ID_BASE).sum()),
            "unparseable_timestamp": int(frame["transaction_ts"].str.startswith("2026-13").sum()),
            "unparseable_number": int(numeric("shipping_cost").isna().sum()),
            "missing_required_value": int((frame["customer_id"] == "").sum()),
        }
    return {
        "exact_duplicate": int(frame.duplicated().sum()),
        "non_positive_quantity": int((numeric("quantity") <= 0).sum()),
        "negative_price": int((numeric("unit_price") < 0).sum()),
        "unknown_product": int((numeric("product_id") >= UNKNOWN_ID_BASE).sum()),
        "unparseable_number": int((frame["quantity"] == "two").sum()),
        "missing_required_value": int((frame["product_id"] == "").sum()),
    }


def test_defect_rate_zero_turns_defects_off(tmp_path):
    manifest = generate_day(GeneratorConfig(**{**SMALL.as_dict(), "defect_rate": 0}), DAY, tmp_path)
    assert manifest["defects"] == {}


def test_cli_writes_the_date_folder(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "ecommerce.generation", "--date", "2026-11-20", "--out", str(tmp_path),
         "--seed", "3", "--orders", "50", "--customers", "500", "--defect-rate", "0.01"],
        cwd=PROJECT_ROOT, env={"PYTHONPATH": str(PROJECT_ROOT / "plugins")}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "2026-11-20" / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["config"]["orders"] == 50 and manifest["config"]["defect_rate"] == 0.01
    with (tmp_path / "2026-11-20" / "transactions.csv").open() as handle:
        assert next(csv.reader(handle)) == list(RAW_COLUMNS["transactions"])


@pytest.mark.parametrize("flags, message", [
    (["--date", "2023-12-31"], "before the generator's epoch"),
    (["--date", "2026-11-20", "--defect-rate", "0.5"], "defect_rate must be in"),
    (["--date", "2026-11-31"], "invalid"),
])
def test_cli_refuses_bad_arguments_clearly(tmp_path, flags, message):
    result = subprocess.run([sys.executable, "-m", "ecommerce.generation", "--out", str(tmp_path), *flags],
                            cwd=PROJECT_ROOT, env={"PYTHONPATH": str(PROJECT_ROOT / "plugins")},
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert message in result.stderr


def test_too_many_orders_are_refused_clearly(tmp_path, capsys):
    from ecommerce.failures import ContractViolation
    from ecommerce.generation.__main__ import main
    from ecommerce.sources import generated_folder

    with pytest.raises(ValueError, match="orders must be at most 2,000,000 a day, not 1,000,000,000"):
        GeneratorConfig(orders=10**9)
    with pytest.raises(ContractViolation, match="orders must be at most"):  # a task fails it at once
        generated_folder("2026-11-20", orders=10**9)
    with pytest.raises(SystemExit):
        main(["--date", "2026-11-20", "--out", str(tmp_path), "--orders", str(10**9)])
    assert "orders must be at most" in capsys.readouterr().err
    assert not any(tmp_path.iterdir()), "nothing was written"


def test_a_data_folder_that_cannot_be_written_fails_at_once_with_the_path_and_what_to_do(tmp_path, monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    from ecommerce.failures import SetupProblem, fail_fast
    from ecommerce.sources import generated_folder

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    monkeypatch.setenv("ECOMMERCE_DATA_DIR", str(blocker / "data"))
    with pytest.raises(SetupProblem, match="ECOMMERCE_DATA_DIR") as error:
        generated_folder("2026-11-20", orders=10)
    assert str(blocker) in str(error.value)
    with pytest.raises(AirflowFailException, match="cannot write the raw files"), fail_fast():
        generated_folder("2026-11-20", orders=10)
