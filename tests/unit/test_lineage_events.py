"""The dashboard's lineage view reads the OpenLineage file transport's events."""

from __future__ import annotations

import json

from ecommerce.dashboards.lineage import last_run_edges, read_events


def event(kind: str, task: str, time: str, rows: int) -> dict:
    return {
        "eventType": kind, "eventTime": time, "job": {"name": f"ecommerce_pipeline.{task}"},
        "inputs": [{"namespace": "postgres://warehouse", "name": "ecommerce.staging.transactions"}],
        "outputs": [{"namespace": "postgres://warehouse", "name": "ecommerce.production.transactions",
                     "outputFacets": {"outputStatistics": {"rowCount": rows}}}],
    }


def test_only_the_events_holding_the_text_asked_for_are_parsed(tmp_path):
    path = tmp_path / "events.jsonl"
    events = [event("START", "production.transactions", "2026-11-20T01:00:00Z", 0),
              event("COMPLETE", "production.transactions", "2026-11-20T01:00:05Z", 10),
              event("START", "production.transactions", "2026-11-21T01:00:00Z", 0),
              event("COMPLETE", "production.transactions", "2026-11-21T01:00:05Z", 12)]
    path.write_text("".join(json.dumps(e) + "\n" for e in events) + "\n")
    everything = read_events(path)
    completed = read_events(path, containing=b'"COMPLETE"')
    assert [e["eventType"] for e in everything] == ["START", "COMPLETE", "START", "COMPLETE"]
    assert completed == [events[1], events[3]]
    # The edges come from completed runs alone: the same either way, the latest run's rows.
    assert last_run_edges(completed).equals(last_run_edges(everything))
    assert last_run_edges(completed)["rows"].tolist() == [12]


def test_a_tail_that_starts_mid_event_skips_that_line(tmp_path):
    path = tmp_path / "events.jsonl"
    lines = [json.dumps(event("COMPLETE", f"task_{n}", f"2026-11-20T01:00:0{n}Z", n)) for n in range(3)]
    path.write_text("\n".join(lines) + "\n")
    tail = len(lines[2]) + 1 + len(lines[1]) // 2
    assert [e["job"]["name"] for e in read_events(path, tail_bytes=tail)] == ["ecommerce_pipeline.task_2"]
