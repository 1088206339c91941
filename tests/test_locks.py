"""The build's locks: held by one process at a time, said who holds them, released however the holder ends."""

import os
import signal
import subprocess
import sys
import time

import pytest

from retention_report import locks

HOLD = r'''
import sys, time
from retention_report import locks
with locks.hold(sys.argv[1], "2024-Q2 is being built"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
'''


def holder_process(path, seconds=60.0) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_held_lock_stops_a_no_wait_caller_naming_the_holder(tmp_path):
    lock = tmp_path / "2024-Q2.lock"
    process = holder_process(lock)
    try:
        with pytest.raises(locks.Locked, match=rf"2024-Q2 is being built by process {process.pid} since .* UTC"):
            with locks.hold(lock, "2024-Q2 is being built", wait=False):
                pass
    finally:
        process.kill()
        process.wait()


def test_a_waiting_caller_is_told_who_holds_it_and_gets_it_when_the_holder_ends(tmp_path):
    lock = tmp_path / "2024-Q2.lock"
    process = holder_process(lock, seconds=1.5)
    told = []
    started = time.monotonic()
    with locks.hold(lock, "2024-Q2 is being built", on_wait=told.append):
        waited = time.monotonic() - started
        assert locks.holder(lock).startswith(f"process {os.getpid()} since ")
    assert process.wait() == 0 and waited > 0.5
    assert told and told[0].startswith(f"2024-Q2 is being built by process {process.pid} since ")
    assert locks.holder(lock) == "another process"  # released: the file no longer names anyone


def test_kill_9_releases_the_lock(tmp_path):
    lock = tmp_path / "site.lock"
    process = holder_process(lock)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    with locks.hold(lock, "the site is being published", wait=False):
        pass


def test_a_forked_child_does_not_keep_its_parents_lock(tmp_path):
    """A render worker forked while the build holds its lock must not hold it after the build is gone."""
    lock = tmp_path / "2024-Q2.lock"
    ready, started = os.pipe()
    with locks.hold(lock, "2024-Q2 is being built"):
        child = os.fork()
        if child == 0:  # the worker (its fork hooks have run once its own code runs): outlives the lock's holder
            os.write(started, b"1")
            time.sleep(5)
            os._exit(0)
        assert os.read(ready, 1) == b"1"
    try:
        with locks.hold(lock, "2024-Q2 is being built", wait=False):  # the child is alive, the lock is free
            pass
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
