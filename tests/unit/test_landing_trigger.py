"""The landing folder's watcher (ecommerce.landing_trigger) on real folders, its async generator
run as the triggerer runs it; and what the intake makes of its events (ecommerce.sources)."""

from __future__ import annotations

import asyncio
import importlib
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

from ecommerce.contract import RAW_COLUMNS, file_name
from ecommerce.landing_trigger import READY_MARKER, LandingReadyTrigger
from ecommerce.sources import LandingFolderError, landed_runs, landing_folder

POKE = 0.02
#: How long to wait for an event that should come (a timeout, not a measure).
WAIT = 30
#: How many more looks at the folder the watcher must make, after the events awaited, without an
#: event that should not come. Counted, not timed: the second it was (50 nominal looks) was most
#: of each test's time, and on a loaded machine gave fewer looks than it named.
QUIET_LOOKS = 10


class Looks:
    """Counts the watchers' looks at the landing folder (``ready_markers``, once a look)."""

    def __init__(self, monkeypatch):
        import ecommerce.landing_trigger as landing_trigger

        self.count = 0
        look = landing_trigger.ready_markers

        def counted(landing):
            self.count += 1
            return look(landing)

        monkeypatch.setattr(landing_trigger, "ready_markers", counted)

    async def more(self, looks: int, *tasks: asyncio.Task) -> None:
        """Return once the watchers looked ``looks`` times more, or at once when a task ends
        (an event came); fail after WAIT seconds."""
        until = self.count + looks
        deadline = asyncio.get_running_loop().time() + WAIT
        while self.count < until and not any(task.done() for task in tasks):
            if asyncio.get_running_loop().time() > deadline:
                pytest.fail(f"the watcher looked {self.count - until + looks} times in {WAIT} s, not {looks}")
            await asyncio.sleep(POKE / 4)


@pytest.fixture
def looks(monkeypatch) -> Looks:
    return Looks(monkeypatch)


def land(landing: Path, folder: str, files: bool = True, ready: bool = True) -> Path:
    """A landed folder: the contract's files (empty: the watcher does not read them), then _READY."""
    path = landing / folder
    path.mkdir(parents=True)
    for table in RAW_COLUMNS if files else ():
        (path / file_name(table)).write_text(",".join(RAW_COLUMNS[table]) + "\n")
    if ready:
        (path / READY_MARKER).touch()
    return path


def watch(landing: Path, steps, looks: Looks) -> list[dict]:
    """Run a watcher of ``landing``; ``steps`` is a list of (action, events to wait for): each
    action (or None) is called, then that many events are awaited. Returns every payload; fails
    if an event comes beyond those awaited while the watcher looks QUIET_LOOKS times more."""
    async def main() -> list[dict]:
        stream = LandingReadyTrigger(landing_dir=str(landing), poke_interval=POKE).run()
        payloads = []
        try:
            for action, count in steps:
                if action is not None:
                    action()
                for _ in range(count):
                    payloads.append((await asyncio.wait_for(anext(stream), WAIT)).payload)
            extra = asyncio.ensure_future(anext(stream))
            await looks.more(QUIET_LOOKS, extra)
            if not extra.done():
                extra.cancel()
                await asyncio.gather(extra, return_exceptions=True)
                return payloads
            pytest.fail(f"an event beyond those expected: {extra.result().payload} (after {payloads})")
        finally:
            await stream.aclose()

    return asyncio.run(main())


def test_a_marker_written_after_the_files_delivers_its_folder_once_and_is_consumed(tmp_path, looks):
    """Also a marker written while no watcher ran (the triggerer down, the DAG paused): taken at
    the first look."""
    folder = land(tmp_path, "2026-03-14")
    assert watch(tmp_path, [(None, 1)], looks) == [{"folders": ["2026-03-14"], "landing_dir": str(tmp_path)}]
    assert not (folder / READY_MARKER).exists()
    assert sorted(p.name for p in folder.iterdir()) == sorted(file_name(t) for t in RAW_COLUMNS)  # files stay


def test_a_folder_is_delivered_once_its_marker_appears_not_before(tmp_path, looks):
    folder = land(tmp_path, "2026-03-14", ready=False)
    payloads = watch(tmp_path, [(None, 0), (lambda: (folder / READY_MARKER).touch(), 1)], looks)
    assert [p["folders"] for p in payloads] == [["2026-03-14"]]


def test_the_landing_folder_is_watched_before_it_exists(tmp_path, looks):
    landing = tmp_path / "landing"
    payloads = watch(landing, [(None, 0), (lambda: land(landing, "2026-03-14"), 1)], looks)
    assert [p["folders"] for p in payloads] == [["2026-03-14"]]


def test_markers_found_in_one_look_go_in_one_event_oldest_date_first(tmp_path, looks):
    """Not an event each: Airflow 3.3 would start the second date only at the next delivery
    (ecommerce.landing_trigger)."""
    land(tmp_path, "2026-03-15")
    land(tmp_path, "2026-03-14")
    assert [p["folders"] for p in watch(tmp_path, [(None, 1)], looks)] == [["2026-03-14", "2026-03-15"]]


def test_a_marker_written_again_delivers_the_date_again(tmp_path, looks):
    """A re-delivery reloads the date (a date's load replaces it)."""
    folder = land(tmp_path, "2026-03-14")
    payloads = watch(tmp_path, [(None, 1), (lambda: (folder / READY_MARKER).touch(), 1)], looks)
    assert [p["folders"] for p in payloads] == [["2026-03-14"], ["2026-03-14"]]


def test_a_malformed_folder_name_and_a_missing_file_still_give_an_event(tmp_path, looks):
    """Not judged here: the intake run fails the name, the pipeline run the missing file."""
    land(tmp_path, "2026-3-16")
    land(tmp_path, "2026-03-17", files=False)
    assert [p["folders"] for p in watch(tmp_path, [(None, 1)], looks)] == [["2026-03-17", "2026-3-16"]]


def test_a_file_named_like_the_marker_elsewhere_is_no_delivery(tmp_path, looks):
    (tmp_path / READY_MARKER).touch()  # in the landing folder itself, not a date's
    (tmp_path / "2026-03-14" / READY_MARKER).mkdir(parents=True)  # a folder, not a file
    assert watch(tmp_path, [(None, 0)], looks) == []


def test_two_watchers_consume_each_marker_exactly_once(tmp_path, looks):
    """Two looks at once (two triggerers, or a watcher restarted beside the old one): each
    marker is consumed by one of them, and gives one event."""
    dates = [f"2026-03-{day:02d}" for day in range(1, 29)]

    async def main() -> list[str]:
        streams = [LandingReadyTrigger(landing_dir=str(tmp_path), poke_interval=POKE).run() for _ in range(2)]
        delivered: list[str] = []

        async def drain(stream):
            async for event in stream:
                delivered.extend(event.payload["folders"])

        tasks = [asyncio.create_task(drain(stream)) for stream in streams]
        await asyncio.sleep(2 * POKE)
        for date in dates:
            land(tmp_path, date)
        deadline = asyncio.get_running_loop().time() + WAIT
        while len(delivered) < len(dates) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(POKE)
        # about QUIET_LOOKS more looks each: a second event for a marker would come by now
        await looks.more(2 * QUIET_LOOKS)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return delivered

    delivered = asyncio.run(main())
    assert sorted(delivered) == dates
    assert not list(tmp_path.glob(f"*/{READY_MARKER}"))


def test_a_marker_it_cannot_delete_is_not_delivered_and_is_warned_about_once(tmp_path, monkeypatch, capsys, looks):
    import ecommerce.landing_trigger as landing_trigger

    def refuse(marker):
        raise PermissionError(13, "Permission denied", str(marker))

    land(tmp_path, "2026-03-14")
    monkeypatch.setattr(landing_trigger, "take_marker", refuse)
    assert watch(tmp_path, [(None, 0)], looks) == []  # through many looks
    warnings = [line for line in capsys.readouterr().out.splitlines() if "cannot consume" in line]
    assert len(warnings) == 1 and "2026-03-14/_READY" in warnings[0] and "Permission denied" in warnings[0]
    assert (tmp_path / "2026-03-14" / READY_MARKER).exists()


def test_it_serializes_to_what_rebuilds_it_and_watches_the_data_roots_landing_by_default(tmp_path, monkeypatch):
    from airflow.triggers.base import BaseEventTrigger

    from ecommerce.assets import LANDING_ASSET

    (watcher,) = LANDING_ASSET.watchers
    classpath, kwargs = watcher.trigger.serialize()
    assert (classpath, kwargs) == ("ecommerce.landing_trigger.LandingReadyTrigger",
                                   {"landing_dir": None, "poke_interval": 5.0})
    module, name = classpath.rsplit(".", 1)
    rebuilt = getattr(importlib.import_module(module), name)(**kwargs)
    assert isinstance(rebuilt, BaseEventTrigger)
    # the same watcher at every parse: the data root is read where it runs, not where the DAG is parsed
    assert BaseEventTrigger.hash(*rebuilt.serialize()) == BaseEventTrigger.hash(classpath, kwargs)
    monkeypatch.setenv("ECOMMERCE_DATA_DIR", str(tmp_path / "data"))
    assert rebuilt.landing() == tmp_path / "data" / "landing"


def event(payload, at=datetime(2026, 3, 15, 6, 30, 5, 123456, tzinfo=timezone.utc)):
    """A landing event as a task sees it in ``triggering_asset_events``."""
    return SimpleNamespace(extra={"from_trigger": True, "payload": payload}, timestamp=at)


def test_each_landed_date_becomes_a_landing_run_of_the_pipeline(tmp_path):
    runs, problems = landed_runs([event({"folders": ["2026-03-14", "2026-03-15"], "landing_dir": str(tmp_path)}),
                                  event({"folders": ["2026-03-14"], "landing_dir": str(tmp_path)},
                                        at=datetime(2026, 3, 15, 6, 31, tzinfo=timezone.utc))])
    assert problems == []
    conf = {"source": "landing", "landing_dir": str(tmp_path)}
    assert runs == [
        {"trigger_run_id": "landing__2026-03-14__2026-03-15T06:30:05.123456", "conf": {"business_date": "2026-03-14", **conf}},
        {"trigger_run_id": "landing__2026-03-15__2026-03-15T06:30:05.123456", "conf": {"business_date": "2026-03-15", **conf}},
        {"trigger_run_id": "landing__2026-03-14__2026-03-15T06:31:00.000000", "conf": {"business_date": "2026-03-14", **conf}},
    ]


@pytest.mark.parametrize("folder", ["2026-3-14", "20260314", "2026-02-30", "march", "2026-03-14 (copy)"])
def test_a_folder_not_named_for_a_date_is_refused_with_its_path_and_the_form_expected(tmp_path, folder):
    runs, problems = landed_runs([event({"folders": [folder, "2026-03-14"], "landing_dir": str(tmp_path)})])
    assert [run["conf"]["business_date"] for run in runs] == ["2026-03-14"]  # the other still runs
    assert problems == [f"landing folder {tmp_path / folder} is not named for a business date: name it YYYY-MM-DD "
                        "(e.g. 2026-03-14), the date its files hold, and write its _READY again"]


def test_an_event_naming_no_folder_is_refused(tmp_path):
    """E.g. an event of the landing Asset created through the REST API."""
    runs, problems = landed_runs([SimpleNamespace(extra={"note": "by hand"},
                                                  timestamp=datetime(2026, 3, 15, tzinfo=timezone.utc))])
    assert runs == []
    assert problems == ["a landing event of 2026-03-15T00:00:00+00:00 names no landing folder "
                        "(its extra: {'note': 'by hand'}): only a _READY marker's event starts a date"]


def test_a_landed_folder_missing_a_file_fails_the_pipeline_run_naming_it(tmp_path):
    """What the started run's generate.raw_files says of a marker written before every file."""
    folder = land(tmp_path, "2026-03-14")
    (folder / "transactions.csv").unlink()
    with pytest.raises(LandingFolderError, match=f"landing folder {folder} lacks transactions.csv$"):
        landing_folder(str(tmp_path), "2026-03-14")
