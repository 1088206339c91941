"""Run the report's notebooks with Papermill, one output notebook per period."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import papermill
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


def run_notebook(notebook: Path, output: Path, parameters: dict[str, Any]) -> Path:
    check_parameters(notebook, parameters)
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        papermill.execute_notebook(
            str(notebook), str(output), parameters=parameters, kernel_name=KERNEL,
            cwd=str(notebook.parent), progress_bar=False, log_output=False, report_mode=False,
        )
    except PapermillExecutionError as exc:
        raise NotebookError(
            f"{notebook.name} failed in cell {exc.cell_index} ({exc.ename}: {exc.evalue}); "
            f"the executed notebook with the traceback is {output}"
        ) from exc
    return output
