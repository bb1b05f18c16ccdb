"""The Power BI report as PBIR files (the enhanced report format, public JSON schemas).

``<name>.Report/definition.pbir`` binds the report to the semantic model beside it; under
``definition/`` each page is a folder with ``page.json`` and one ``visuals/<name>/visual.json``
per visual. Every file names the published schema it follows in ``$schema``.
"""

from __future__ import annotations

import json
import re

from ecommerce.bi.model import Field, Model, Visual, aggregation_code
from ecommerce.bi.tmdl import NAME

SCHEMAS = "https://developer.microsoft.com/json-schemas/fabric"
REPORT_SCHEMA = f"{SCHEMAS}/item/report/definition"
PAGE_WIDTH, PAGE_HEIGHT = 1280, 720
COLUMNS, MARGIN = 4, 16
CARD_HEIGHT, CHART_HEIGHT = 120, 300


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _dump(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def field_expression(field: Field) -> dict:
    """The semantic-query expression of a field (Column, Measure, or an Aggregation of a column)."""
    source = {"Expression": {"SourceRef": {"Entity": field.table}}, "Property": field.name}
    if field.kind == "measure":
        return {"Measure": source}
    if field.aggregation:
        return {"Aggregation": {"Expression": {"Column": source}, "Function": aggregation_code(field.aggregation)}}
    return {"Column": source}


def _literal(text: str) -> dict:
    return {"expr": {"Literal": {"Value": "'" + text.replace("'", "''") + "'"}}}


def visual_file(visual: Visual, name: str, position: dict) -> dict:
    return {
        "$schema": f"{REPORT_SCHEMA}/visualContainer/2.4.0/schema.json",
        "name": name,
        "position": position,
        "visual": {
            "visualType": visual.type,
            "query": {
                "queryState": {
                    role: {"projections": [
                        {"field": field_expression(f), "queryRef": f.query_ref, "nativeQueryRef": f.name}
                        for f in fields
                    ]}
                    for role, fields in visual.roles.items()
                }
            },
            "visualContainerObjects": {
                "title": [{"properties": {"show": {"expr": {"Literal": {"Value": "true"}}}, "text": _literal(visual.title)}}]
            },
            "drillFilterOtherVisuals": True,
        },
    }


def layout(visuals: tuple[Visual, ...]) -> list[dict]:
    """Positions on a grid of COLUMNS columns, filled left to right, top to bottom."""
    width = (PAGE_WIDTH - MARGIN * (COLUMNS + 1)) / COLUMNS
    positions, column, y, row_height = [], 0, MARGIN, 0
    for z, visual in enumerate(visuals):
        span = min(visual.span, COLUMNS)
        if column + span > COLUMNS:
            column, y, row_height = 0, y + row_height + MARGIN, 0
        height = CARD_HEIGHT if visual.type == "card" else CHART_HEIGHT
        positions.append({"x": MARGIN + column * (width + MARGIN), "y": y, "z": z * 1000,
                          "height": height, "width": span * width + (span - 1) * MARGIN, "tabOrder": z * 1000})
        column, row_height = column + span, max(row_height, height)
    return positions


def files(model: Model) -> dict[str, str]:
    """Relative path -> text of every file of ``<NAME>.Report`` and the ``.pbip`` shortcut."""
    root = f"{NAME}.Report"
    definition = f"{root}/definition"
    pages = [(f"{index:02d}_{slug(page.name)}", page) for index, page in enumerate(model.pages, start=1)]
    out = {
        f"{NAME}.pbip": _dump({
            "$schema": f"{SCHEMAS}/pbip/pbipProperties/1.0.0/schema.json",
            "version": "1.0",
            "artifacts": [{"report": {"path": root}}],
            "settings": {"enableAutoRecovery": True},
        }),
        f"{root}/definition.pbir": _dump({
            "$schema": f"{SCHEMAS}/item/report/definitionProperties/2.0.0/schema.json",
            "version": "4.0",
            "datasetReference": {"byPath": {"path": f"../{NAME}.SemanticModel"}},
        }),
        f"{definition}/version.json": _dump({"$schema": f"{REPORT_SCHEMA}/versionMetadata/1.0.0/schema.json",
                                             "version": "2.0.0"}),
        f"{definition}/report.json": _dump({"$schema": f"{REPORT_SCHEMA}/report/3.0.0/schema.json",
                                            "themeCollection": {}}),
        f"{definition}/pages/pages.json": _dump({
            "$schema": f"{REPORT_SCHEMA}/pagesMetadata/1.0.0/schema.json",
            "pageOrder": [name for name, _ in pages],
            "activePageName": pages[0][0],
        }),
    }
    for page_name, page in pages:
        folder = f"{definition}/pages/{page_name}"
        out[f"{folder}/page.json"] = _dump({
            "$schema": f"{REPORT_SCHEMA}/page/2.0.0/schema.json",
            "name": page_name,
            "displayName": page.name,
            "displayOption": "FitToPage",
            "height": PAGE_HEIGHT,
            "width": PAGE_WIDTH,
        })
        for index, (visual, position) in enumerate(zip(page.visuals, layout(page.visuals)), start=1):
            name = f"{index:02d}_{slug(visual.title)}"[:50]
            out[f"{folder}/visuals/{name}/visual.json"] = _dump(visual_file(visual, name, position))
    return out
