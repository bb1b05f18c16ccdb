"""Event-driven intake: the ``_READY`` marker of a landing folder, as an Airflow event.

A user (or the system that delivers the files) writes a date's raw files into
``<landing>/<YYYY-MM-DD>/``, then an empty ``_READY`` beside them. ``LandingReadyTrigger`` runs
in the triggerer as the watcher of the landing Asset (``ecommerce.assets.LANDING_ASSET``): it
looks for ``*/_READY`` every few seconds, consumes each marker it finds (deletes it: of two
triggerers, or two looks, exactly one succeeds) and yields an event naming the folders. Airflow
records the event as an update of the Asset, and the ``landing_intake`` DAG, scheduled on it,
starts the date's pipeline run (``ecommerce.sources.landed_runs``).

The trigger does not judge the folder: a name that is not a date, or a folder that lacks a file,
still gives an event, so the intake run (or the pipeline run it starts) fails with the reason
instead of the folder being passed over in silence. Writing ``_READY`` again delivers the folder
again: the date is loaded again (a date's load replaces it).

A marker is consumed only while a triggerer runs the watcher, and the watcher only runs while
``landing_intake`` is unpaused: markers written meanwhile wait, and are taken on the first look
after it starts. The marker is deleted before Airflow has stored the event; a triggerer that dies
in that second loses the delivery (its log has the "consumed" line): write ``_READY`` again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from ecommerce.sources import default_landing_dir

#: Written into a date's landing folder after its files: the folder is complete.
READY_MARKER = "_READY"


def ready_markers(landing: Path) -> list[Path]:
    """The markers waiting in ``landing``, oldest folder name first (none when it does not exist)."""
    return sorted(path for path in landing.glob(f"*/{READY_MARKER}") if path.is_file())


def take_marker(marker: Path) -> bool:
    """Consume ``marker``: True for the one caller that deleted it, False when it was gone."""
    try:
        marker.unlink()
    except FileNotFoundError:
        return False
    return True


class LandingReadyTrigger(BaseEventTrigger):
    """Look at the landing folder every ``poke_interval`` seconds; consume each ``<folder>/_READY``
    marker there, and yield one event for the look: ``{"folders": [<name>, …], "landing_dir":
    <path>}``, the folders oldest name first. Runs until the triggerer stops it.

    One event a look, not one a marker: Airflow 3.3 starts an asset-triggered run with the events
    recorded up to the first one it queued the DAG for, and a later event that came before the run
    was created waits for the next event (apache/airflow#56050) — markers written together would
    otherwise start their dates one delivery late.

    :param landing_dir: the landing folder to watch; by default ``<data root>/landing`` as the
        triggerer sees it (``ECOMMERCE_DATA_DIR``).
    :param poke_interval: seconds between two looks at the folder.
    """

    def __init__(self, landing_dir: str | None = None, poke_interval: float = 5.0, **kwargs):
        super().__init__(**kwargs)
        self.landing_dir = landing_dir
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {"landing_dir": self.landing_dir, "poke_interval": self.poke_interval})

    def landing(self) -> Path:
        return Path(self.landing_dir) if self.landing_dir else default_landing_dir()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        landing = self.landing()
        refused: set[Path] = set()  # markers that could not be deleted, warned about once
        self.log.info("watching %s for <YYYY-MM-DD>/%s every %ss", landing, READY_MARKER, self.poke_interval)
        while True:
            folders = []
            for marker in await asyncio.to_thread(ready_markers, landing):
                try:
                    taken = await asyncio.to_thread(take_marker, marker)
                except OSError as error:
                    if marker not in refused:
                        refused.add(marker)
                        self.log.warning("cannot consume %s (%s): the folder is not delivered until the "
                                         "triggerer may delete the marker", marker, error)
                    continue
                if taken:  # else another look (or triggerer) took it
                    self.log.info("consumed %s", marker)
                    folders.append(marker.parent.name)
            if folders:
                self.log.info("delivering %s", ", ".join(folders))
                yield TriggerEvent({"folders": folders, "landing_dir": str(landing)})
            await asyncio.sleep(self.poke_interval)
