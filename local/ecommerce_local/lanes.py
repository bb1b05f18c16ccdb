"""``make run`` in lanes: the business dates dealt out to a few Airflow processes that run side by
side, their output shown date by date, in order, as if one process had run them.

A lane is one ``python -m ecommerce_local.dag_runs`` process (Airflow starts and parses the DAGs
once in it). Lanes run what the scheduler would run side by side (``MAX_ACTIVE_RUNS``; any
order of dates gives the same warehouse), one per core at most. Dates are dealt in turn: with
two lanes the first runs dates 1, 3, 5…, the second 2, 4, 6….

Each lane's output is cut into sections at its progress lines (``==> …``, see ``section_of``).
The section of the earliest date still running is printed as it comes; a later date's output
waits until every earlier one is printed, so the terminal reads as one run, date after date.

The lanes hear from this process on their standard input (``Orders``): ``stop`` when a
lane failed (the others stop before their next date, as one process stops at its first failure);
``go`` to the first lane when every other lane succeeded: it refreshes the dashboards once, after
the last date.
"""

from __future__ import annotations

import os
import queue
import re
import select
import subprocess
import threading
from collections.abc import Callable, Sequence

from ecommerce.settings import MAX_ACTIVE_RUNS

#: A lane's progress line: ``==> [3/14] ecommerce_pipeline for business date …`` (section 3) or
#: ``==> refresh_dashboards`` (the section after the last date).
PROGRESS = re.compile(r"==> (?:\[(\d+)/\d+\]|refresh_dashboards)")
GO, STOP = "go", "stop"


def lane_count(dates: int, cores: int) -> int:
    """How many lanes for ``dates`` dates on ``cores`` cores: never more than the DAG's
    ``max_active_runs``, the cores, or the dates."""
    return max(1, min(MAX_ACTIVE_RUNS, cores, dates))


def deal(items: Sequence, lanes: int) -> list[list]:
    """``items`` dealt out in turn to ``lanes`` lanes (lane 0 gets the first, ``lanes`` th, …)."""
    return [list(items[lane::lanes]) for lane in range(lanes)]


def section_of(line: str, dates: int) -> int | None:
    """The section a progress line opens (the date's number, or ``dates + 1`` for the
    dashboards), or None for any other line."""
    found = PROGRESS.match(line)
    if not found:
        return None
    return int(found[1]) if found[1] else dates + 1


class OrderedOutput:
    """Writes lines from several lanes section by section, in section order.

    ``line(lane, text)`` takes a line as it comes; ``ended(lane)`` says a lane has no more. A lane's
    lines before its first progress line go with its first section. Lines of the section being
    shown are written at once; those of later sections are kept until every earlier section is
    written and complete (its lane moved on or ended). ``close()`` writes whatever is left, in
    order (sections of dates a stopped lane never ran are simply missing).
    """

    def __init__(self, write: Callable[[str], None], sections_of: Callable[[str], int | None]):
        self._write, self._section_of = write, sections_of
        self._kept: dict[int, list[str]] = {}
        self._complete: set[int] = set()
        self._current: dict[int, int] = {}        # lane -> the section it is writing
        self._before_first: dict[int, list[str]] = {}
        self._next = 1                            # the first section not yet completely written

    def line(self, lane: int, text: str) -> None:
        opened = self._section_of(text)
        if opened is not None:
            if lane in self._current:
                self._complete.add(self._current[lane])
            self._current[lane] = opened
            self._kept.setdefault(opened, []).extend(self._before_first.pop(lane, []))
        if lane not in self._current:
            self._before_first.setdefault(lane, []).append(text)
            return
        self._kept.setdefault(self._current[lane], []).append(text)
        self._flush()

    def ended(self, lane: int) -> None:
        if lane in self._current:
            self._complete.add(self._current[lane])
        elif lines := self._before_first.pop(lane, []):  # e.g. a lane that failed to start: say why now
            for text in lines:
                self._write(text)
        self._flush()

    def close(self) -> None:
        for lines in self._before_first.values():
            for text in lines:
                self._write(text)
        for section in sorted(self._kept):
            for text in self._kept[section]:
                self._write(text)
        self._kept.clear()
        self._before_first.clear()

    def _flush(self) -> None:
        while self._next in self._kept:
            for text in self._kept[self._next]:
                self._write(text)
            self._kept[self._next] = []
            if self._next not in self._complete:
                return
            del self._kept[self._next]
            self._next += 1


def run_lanes(commands: list[list[str]], env: dict[str, str], output: OrderedOutput) -> int:
    """Run one process per command side by side, their output (stdout and stderr) through
    ``output``; 0 when every lane succeeded, else the first failed lane's exit status.

    When a lane fails the others are told to stop; when every lane but the first succeeded the
    first is told to go on (``GO``) to what it does last.
    """
    env = dict(env, PYTHONUNBUFFERED="1")  # lines reach the terminal as they are written
    lanes = [subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, errors="replace", bufsize=1)
             for command in commands]
    lines: queue.Queue[tuple[int, str | None]] = queue.Queue()
    for number, lane in enumerate(lanes):
        threading.Thread(target=_read, args=(number, lane.stdout, lines), daemon=True).start()
    status: dict[int, int] = {}
    if len(lanes) == 1:
        _tell(lanes[0], GO)
    while len(status) < len(lanes):
        number, text = lines.get()
        if text is not None:
            output.line(number, text)
            continue
        status[number] = lanes[number].wait()
        output.ended(number)
        if status[number] != 0:
            for other, lane in enumerate(lanes):
                if other not in status:
                    _tell(lane, STOP)
        elif 0 not in status and len(status) == len(lanes) - 1 and not any(status.values()):
            _tell(lanes[0], GO)
    output.close()
    return next((code for _, code in sorted(status.items()) if code != 0), 0)


def _read(number: int, stream, lines: queue.Queue) -> None:
    for text in stream:
        lines.put((number, text))
    lines.put((number, None))


def _tell(lane: subprocess.Popen, order: str) -> None:
    try:
        lane.stdin.write(order + "\n")
        lane.stdin.flush()
    except (BrokenPipeError, ValueError, OSError):  # the lane has ended already
        pass


class Orders:
    """What ``make run`` tells a lane on its standard input, one word a line: ``stop`` (another
    lane failed: run no further date) or ``go`` (every other lane succeeded: refresh the
    dashboards). The end of input counts as ``stop``; a terminal says go (a lane run by hand)."""

    def __init__(self, fd: int):
        self._fd, self._text, self._ended = fd, "", False
        if os.isatty(fd):
            self._text = GO

    def _read(self, wait: bool) -> None:
        """Take in what has come (waiting for something first if ``wait``)."""
        while not self._ended and select.select([self._fd], [], [], None if wait else 0)[0]:
            chunk = os.read(self._fd, 1024).decode()
            self._ended, self._text, wait = not chunk, self._text + chunk, False

    def _said(self) -> set[str]:
        return set(self._text.split()) | ({STOP} if self._ended else set())

    def stop(self) -> bool:
        """Whether a stop came (does not wait)."""
        self._read(wait=False)
        return STOP in self._said()

    def go(self) -> bool:
        """Wait for go or stop; True for go."""
        while not self._said() & {GO, STOP}:
            self._read(wait=True)
        return GO in self._said() and STOP not in self._said()
