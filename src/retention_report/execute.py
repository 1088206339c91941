"""Run the report's notebooks with Papermill, one output notebook per period.

A kernel's own chatter on stderr ("Kernel is running over TCP without encryption", "KeyboardInterrupt caught in
kernel") goes to a log file beside the build, never to the user's terminal.
"""

from __future__ import annotations

import asyncio
import gc
import queue
import threading
import time
from queue import Empty
from pathlib import Path
from typing import Any

import papermill
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from papermill.exceptions import PapermillExecutionError
from papermill.iorw import LocalHandler, papermill_io

from .params import PROJECT_ROOT

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
KERNEL = "python3"


class _LocalFiles(LocalHandler):
    """papermill's local files without its working-folder switch: papermill keeps one folder for every run in the
    process and enters it with os.chdir around each read and write, so notebooks running side by side in threads
    left this process in another run's folder (a relative --site then resolved elsewhere). Every path given to
    papermill here is absolute; no folder is entered."""

    def cwd(self, new_path):
        return None


papermill_io.register("local", _LocalFiles())


class NotebookError(RuntimeError):
    """A notebook that raised: names the notebook and the failing cell's error."""


def check_parameters(notebook: Path, parameters: dict[str, Any]) -> None:
    """Refuse to pass a parameter the notebook's `parameters` cell does not declare."""
    declared = papermill.inspect_notebook(str(notebook))
    unknown = set(parameters) - set(declared)
    if unknown:
        raise NotebookError(f"{notebook}: has no parameter(s) {', '.join(sorted(unknown))} in its parameters cell.")


class PromptClient(AsyncKernelClient):
    """jupyter_client's kernel client, ready as soon as the kernel is. Every notebook connects a new client to its
    kernel (nbclient does), and jupyter_client's readiness check waited 0.2 s for the IOPub channel twice: once
    to see that it is connected, and once more for it to fall silent (every notebook, side by side on two kernels:
    a tenth of a small build). The same check with a 10 ms probe: the kernel's reply to `kernel_info` comes on
    the shell channel, and the status messages left on IOPub are ignored by nbclient, which reads only the
    messages of the cell it runs."""

    PROBE_SECONDS = 0.01

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.time() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                msg = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                pass
            else:
                if msg["msg_type"] == "kernel_info_reply":
                    try:  # IOPub is connected once a message of this request reaches it; else ask again
                        await self.iopub_channel.get_msg(timeout=self.PROBE_SECONDS)
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(msg)
                        break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.time() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        while True:  # what is left of the request's messages on IOPub
            try:
                await self.iopub_channel.get_msg(timeout=self.PROBE_SECONDS)
            except Empty:
                break


def kernel_manager_logging_to(log: Path) -> type[AsyncKernelManager]:
    """A kernel manager whose kernel process writes its stdout and stderr to `log` (appended), and whose clients
    are PromptClient."""

    class LoggedKernelManager(AsyncKernelManager):
        client_class = "retention_report.execute.PromptClient"
        client_factory = PromptClient

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            handle = open(log, "ab")  # the kernel process holds its own copy of the descriptor
            try:
                kw["stdout"] = kw["stderr"] = handle
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            finally:
                handle.close()

    return LoggedKernelManager


# What every notebook imports first (the report's modules import the rest): imported once per warm kernel, while
# the warehouse builds, instead of once per notebook (about 1.5 s each).
WARM_IMPORTS = ("altair", "duckdb", "numpy", "pandas", "yaml", "retention_report.charts", "retention_report.cohorts",
                "retention_report.mrr", "retention_report.nps", "retention_report.onboarding", "retention_report.page",
                "retention_report.predictions", "retention_report.segments", "retention_report.subscriptions",
                "retention_report.summary", "retention_report.support", "retention_report.touchpoints")
KERNEL_READY_SECONDS = 180  # as `start_timeout` below: eight kernels on two busy cores took over a minute


class KernelPool:
    """Kernels started ahead of the notebooks (while the warehouse builds), each with WARM_IMPORTS imported, and
    reused notebook after notebook. Before each notebook its kernel's namespace is emptied and its history begun
    anew (IPython's `reset(new_session=True)`: what the notebook sees is what a fresh kernel shows it, its imported
    modules aside) and it moves to the notebook's folder. A kernel whose notebook failed is shut down, never
    reused but replaced by a new warm one; a kernel that cannot be started or reset leaves its notebook to start its
    own, as without a pool. Every kernel the pool starts ends up in its queue (or its failure does), so a notebook
    waiting for one never waits for nothing."""

    def __init__(self, size: int, log_dir: Path):
        self.log_dir = Path(log_dir)
        self._ready: queue.Queue = queue.Queue()
        self._all: list[AsyncKernelManager] = []
        self._lock = threading.Lock()
        self._size = size
        self._threads: list[threading.Thread] = []

    def start(self) -> "KernelPool":
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for _ in range(self._size):
            self._start_another()
        return self

    def _start_another(self) -> None:
        with self._lock:
            thread = threading.Thread(target=self._start_one, args=(len(self._threads),), daemon=True)
            self._threads.append(thread)
        thread.start()

    def _start_one(self, index: int) -> None:
        try:
            log = self.log_dir / f"kernel-{index + 1}.log"
            log.write_bytes(b"")
            km = kernel_manager_logging_to(log)(kernel_name=KERNEL)
            with self._lock:
                self._all.append(km)
            _run_async(_start_warm, km)
            self._ready.put(km)
        except Exception as exc:  # the notebook that would have taken it starts its own kernel instead
            self._ready.put(exc)

    def take(self) -> AsyncKernelManager | None:
        """A warm kernel (waiting for one still starting), or None when none can be had."""
        try:
            item = self._ready.get(timeout=KERNEL_READY_SECONDS)
        except queue.Empty:
            return None
        return item if isinstance(item, AsyncKernelManager) else None

    def give_back(self, km: AsyncKernelManager, reusable: bool, replace: bool = True) -> None:
        """A kernel back after its notebook: queued again, or (not reusable) shut down and, unless the build is
        being stopped (`replace` false), replaced."""
        if reusable:
            self._ready.put(km)
        else:
            with self._lock:
                self._all = [k for k in self._all if k is not km]
            _shut_down(km)
            if replace:
                self._start_another()

    def close(self) -> None:
        """Shut every kernel down (at once: a kernel between notebooks has nothing to finish)."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=KERNEL_READY_SECONDS)
        with self._lock:
            kernels, self._all = self._all, []
        for km in kernels:
            _shut_down(km)
        # Collected here, not in a process forked later (the fallback renderer's workers): an open zeromq socket
        # finalised in a forked child, whose context threads did not survive the fork, crashed it (seen once in CI).
        gc.collect()


async def _run_code(km: AsyncKernelManager, code: str, started: bool = True) -> None:
    """Run `code` and wait for its reply on the shell channel (no output is read: the kernel's broadcast channel
    is not listened to, so a message sent before this client joined it cannot be waited for). A kernel just
    started is first waited for until it answers (`started` false)."""
    client = km.client()
    client.start_channels()
    try:
        if not started:
            await client.wait_for_ready(timeout=KERNEL_READY_SECONDS)
        msg_id = client.execute(code, silent=True, store_history=False)
        while True:
            reply = await client.get_shell_msg(timeout=KERNEL_READY_SECONDS)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}")
    finally:
        client.stop_channels()


async def _start_warm(km: AsyncKernelManager) -> None:
    await km.start_kernel()
    await _run_code(km, started=False, code="\n".join(f"import {name}" for name in WARM_IMPORTS) + "\ndel " +
                    ", ".join(sorted({name.split(".")[0] for name in WARM_IMPORTS})))


def _run_async(function, *args) -> Any:
    """`asyncio.run(function(*args))` in a thread of its own: the caller may be inside a running event loop (a
    build started from a program driving a browser), where asyncio.run refuses to run and the kernel would be left
    running."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(function(*args))
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _fresh_for(km: AsyncKernelManager, folder: Path) -> None:
    """The kernel as a new one would be for a notebook in `folder`: empty namespace, new session, that folder."""
    _run_async(_run_code, km, f"get_ipython().reset(new_session=True)\n__import__('os').chdir({str(folder)!r})")


def _shut_down(km: AsyncKernelManager) -> None:
    """Kill the kernel, then close every socket this process holds to it: its manager's own zeromq context, which
    the clients nbclient made for it share (nbclient leaves a kernel it does not own, and those clients, open)."""
    try:
        _run_async(km.shutdown_kernel, True)
    except Exception:
        pass
    try:
        km.context.destroy(linger=0)
    except Exception:
        pass


def run_notebook(notebook: Path, output: Path, parameters: dict[str, Any], log: Path | None = None,
                 pool: KernelPool | None = None) -> Path:
    """Execute `notebook` into `output`; the kernel's own output goes to `log` (default `<output>.log`), or, on a
    kernel of `pool`, to that kernel's log."""
    check_parameters(notebook, parameters)
    output.parent.mkdir(parents=True, exist_ok=True)
    log = Path(log) if log else output.with_name(output.name + ".log")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_bytes(b"")
    try:
        return _run_once(notebook, output, parameters, log, pool)
    except NotebookError as exc:
        # CPython 3.11 before 3.11.8 shares one AST recursion counter between threads, so a kernel's thread
        # parsing code while a cell is compiled (garbage collection can hand the GIL over mid-parse) fails that
        # cell with this SystemError (python/cpython#106905; seen once in CI, in a build that had run a thousand
        # times). The notebook is deterministic: run it once more, on a kernel of its own.
        if "AST constructor recursion depth mismatch" not in str(exc):
            raise
        return _run_once(notebook, output, parameters, log, None)


def _run_once(notebook: Path, output: Path, parameters: dict[str, Any], log: Path,
              pool: KernelPool | None) -> Path:
    km = pool.take() if pool else None
    if km is not None:
        try:
            _fresh_for(km, notebook.parent)
        except Exception:
            pool.give_back(km, reusable=False)
            km = None
    if km is not None:
        try:
            _execute(notebook, output, parameters, log, km=km)
        except BaseException as exc:  # (Ctrl-C: no kernel is started for a build that is stopping)
            pool.give_back(km, reusable=False, replace=isinstance(exc, Exception))
            raise
        pool.give_back(km, reusable=True)
        return output
    try:
        _execute(notebook, output, parameters, log)
    except RuntimeError as exc:
        # A kernel that died while starting (no cell has run): jupyter_client picks free TCP ports and binds them
        # later, so two builds starting kernels at the same moment can take the same one (seen once in 100
        # concurrent-build runs). Starting it again is safe.
        if not isinstance(exc, NotebookError) and "died before replying to kernel_info" in str(exc):
            _execute(notebook, output, parameters, log)
        else:
            raise
    return output


def _execute(notebook: Path, output: Path, parameters: dict[str, Any], log: Path,
             km: AsyncKernelManager | None = None) -> None:
    # With `km` (a pool's kernel) nbclient runs the notebook on it and leaves it running.
    try:
        papermill.execute_notebook(
            str(notebook), str(output), parameters=parameters, kernel_name=KERNEL,
            progress_bar=False, log_output=False, report_mode=False,
            # Written once, when the notebook has run (or failed: papermill writes it with the error then), not
            # before and after every cell: each save serialises the whole notebook, charts' data included (2 MB,
            # 0.1 s for the cohort page at its end), and the saves of notebooks run side by side wait for each other.
            request_save_on_cell_execute=False,
            kernel_manager_class=kernel_manager_logging_to(log), **({"km": km} if km is not None else {}),
            # The kernel starts in the notebook's folder, as in Jupyter. Not papermill's `cwd`: that changes
            # the working directory of this whole process, under the other notebooks running beside it, and
            # relative paths given to the build would then resolve against notebooks/.
            resources={"metadata": {"path": str(notebook.parent)}},
            # Once the last cell has run and its outputs are in, the kernel has nothing left to do: a graceful
            # shutdown only waits for it to wind down, which took up to 3 s more per notebook when two ran side
            # by side (a fifth of the whole build on the sample).
            shutdown_kernel="immediate",
            # A kernel's start waited for up to 3 minutes, not papermill's 60 s: with eight notebooks on two busy
            # cores (a test session building beside another build) a start took longer than a minute.
            start_timeout=180,
        )
    except PapermillExecutionError as exc:
        raise NotebookError(
            f"{notebook.name} failed in cell {exc.cell_index} ({exc.ename}: {exc.evalue}); "
            f"the executed notebook with the traceback is {output}"
        ) from exc
