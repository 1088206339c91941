"""Locks that die with their holder: `flock` on a lock file.

A build holds its period's lock (`build/<PERIOD>.lock`) from start to end, so two builds of one period never
share a build folder; while it publishes it also holds the site's lock (`.<site>.lock` beside the site), so
builds of different periods render side by side and publish one after the other. The kernel releases a
`flock` when the process holding it exits, however it exits: a `kill -9` never leaves a stale lock behind.
The lock file also says who holds it (process id, since when), for the message a waiting build prints.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator


# Descriptors of the locks this process holds. A forked child (a render worker) shares them, and a `flock` is
# released only when every descriptor of it is closed: a worker outliving a killed build would keep its lock.
# So a forked child closes its copies at once, leaving the lock to the process that took it.
_held: set[int] = set()


def _close_in_child() -> None:
    for fd in list(_held):
        try:
            os.close(fd)
        except OSError:
            pass
    _held.clear()


os.register_at_fork(after_in_child=_close_in_child)


class Locked(RuntimeError):
    """The lock is held by another process and the caller asked not to wait."""


def holder(path: Path) -> str:
    """Who holds the lock, in words ('process 1234 since 14:02:11 UTC'), as its holder wrote it."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        return f"process {int(record['pid'])} since {record['since']}"
    except (OSError, ValueError, KeyError, TypeError):  # between a release and the next holder's note
        return "another process"


@contextmanager
def hold(path: Path, what: str, wait: bool = True, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the lock at `path` for the block. `what` names the work in messages ('2024-Q2 is being built').
    Held elsewhere: wait (telling `on_wait` who holds it) or, with `wait=False`, raise `Locked` at once."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)  # CLOEXEC: no kernel or Quarto inherits it
    _held.add(fd)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held_by = holder(path)
            if not wait:
                raise Locked(f"{what} by {held_by} (lock {path}); --no-wait was given, so this build stops")
            if on_wait:
                on_wait(f"{what} by {held_by}; waiting for it to finish (--no-wait fails at once instead)")
            fcntl.flock(fd, fcntl.LOCK_EX)
        note = json.dumps({"pid": os.getpid(),
                           "since": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")})
        os.ftruncate(fd, 0)
        os.pwrite(fd, note.encode("utf-8"), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # released: no longer names this process
    finally:
        _held.discard(fd)
        os.close(fd)  # closing the last descriptor releases the flock
