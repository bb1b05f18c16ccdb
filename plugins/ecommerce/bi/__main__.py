"""``python -m ecommerce.bi [folder]``: write the Power BI project and the Tableau data source.

Reads the catalog of the warehouse connection ``ecommerce_warehouse`` (``make powerbi`` points it
at the local warehouse, creating its schema if needed) and writes under ``folder`` (default
``dashboards/``): ``powerbi/ecommerce_analytics.pbip`` with its ``.SemanticModel`` and
``.Report`` folders, and ``tableau/ecommerce_warehouse.tds``. Files the generator no longer
writes are removed; files Power BI Desktop keeps for itself (``.pbi/``, ``cache.abf``) are kept.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ecommerce.bi import model, pbir, tds, tmdl
from ecommerce.settings import PROJECT_ROOT, WAREHOUSE_CONN_ID

POWERBI = "powerbi"
#: Desktop's own per-user files inside a project: never generated, never removed.
DESKTOP_LOCAL = (".pbi", "cache.abf")


def generate(cursor) -> dict[str, str]:
    """Every generated file, relative to the dashboards folder -> its text."""
    semantic_model = model.build(cursor)
    out = {f"{POWERBI}/{path}": text for path, text in {**tmdl.files(semantic_model), **pbir.files(semantic_model)}.items()}
    out.update(tds.files(semantic_model))
    return out


def is_generated(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    return not any(part in DESKTOP_LOCAL for part in parts)


def existing(root: Path) -> dict[str, str]:
    """The generated files now under ``root`` (what ``write`` would replace)."""
    found = {}
    for folder in (root / POWERBI, root / Path(tds.FILE).parent):
        for path in sorted(folder.rglob("*")) if folder.exists() else []:
            if path.is_file() and is_generated(path, root):
                found[path.relative_to(root).as_posix()] = path.read_text(encoding="utf-8")
    return found


def write(files: dict[str, str], root: Path) -> list[str]:
    """Write ``files`` under ``root``, remove generated files no longer produced; return changed paths."""
    before = existing(root)
    changed = []
    for relative in sorted(set(before) - set(files)):
        (root / relative).unlink()
        changed.append(relative)
    for relative, text in sorted(files.items()):
        if before.get(relative) != text:
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
            changed.append(relative)
    for folder in sorted((p for p in (root / POWERBI).rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecommerce.bi", description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=PROJECT_ROOT / "dashboards")
    args = parser.parse_args(argv)
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    from ecommerce.schema import apply_schema

    with PostgresHook(postgres_conn_id=WAREHOUSE_CONN_ID).get_conn() as conn:
        apply_schema(conn)
        with conn.cursor() as cursor:
            files = generate(cursor)
    changed = write(files, args.folder)
    print(f"{len(files)} files under {args.folder}: " + (f"{len(changed)} changed" if changed else "unchanged"))
    for relative in changed:
        print(f"  {relative}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
