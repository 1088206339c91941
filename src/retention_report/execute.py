"""Run the report's notebooks with Papermill, one output notebook per period.

A kernel's own chatter on stderr ("Kernel is running over TCP without encryption", "KeyboardInterrupt caught in
kernel") goes to a log file beside the build, never to the user's terminal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import papermill
from jupyter_client.manager import AsyncKernelManager
from papermill.exceptions import PapermillExecutionError

from .params import PROJECT_ROOT

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
KERNEL = "python3"


class NotebookError(RuntimeError):
    """A notebook that raised: names the notebook and the failing cell's error."""


def check_parameters(notebook: Path, parameters: dict[str, Any]) -> None:
    """Refuse to pass a parameter the notebook's `parameters` cell does not declare."""
    declared = papermill.inspect_notebook(str(notebook))
    unknown = set(parameters) - set(declared)
    if unknown:
        raise NotebookError(f"{notebook}: has no parameter(s) {', '.join(sorted(unknown))} in its parameters cell.")


def kernel_manager_logging_to(log: Path) -> type[AsyncKernelManager]:
    """A kernel manager whose kernel process writes its stdout and stderr to `log` (appended)."""

    class LoggedKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd, **kw):
            handle = open(log, "ab")  # the kernel process holds its own copy of the descriptor
            try:
                kw["stdout"] = kw["stderr"] = handle
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            finally:
                handle.close()

    return LoggedKernelManager


def run_notebook(notebook: Path, output: Path, parameters: dict[str, Any], log: Path | None = None) -> Path:
    """Execute `notebook` into `output`; the kernel's own output goes to `log` (default `<output>.log`)."""
    check_parameters(notebook, parameters)
    output.parent.mkdir(parents=True, exist_ok=True)
    log = Path(log) if log else output.with_name(output.name + ".log")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_bytes(b"")
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


def _execute(notebook: Path, output: Path, parameters: dict[str, Any], log: Path) -> None:
    try:
        papermill.execute_notebook(
            str(notebook), str(output), parameters=parameters, kernel_name=KERNEL,
            progress_bar=False, log_output=False, report_mode=False,
            kernel_manager_class=kernel_manager_logging_to(log),
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
