"""Incremental builds: each stage's key is a content hash of everything it read.

A stage is reused when its key equals the one recorded by the last successful run of that stage (in
`build/<PERIOD>/stages.json`) and its outputs are still there. Keys cover the inputs (export files, SQL text,
params, notebook source), the upstream stages' keys, and the package's own code for that stage (the source
files and templates it runs), so neither a data change nor a code change is ever served a stale result.

Hashing a 400 MB export takes a fraction of a second; to keep an unchanged rebuild instant, a file's content
hash is remembered against its (size, mtime, inode) in `build/file_hashes.json` and recomputed only when
those change.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any, Iterable

PACKAGE_DIR = Path(__file__).resolve().parent
_CHUNK = 1 << 20


def key(*parts: Any) -> str:
    """A stage key from strings, bytes, JSON-able values and other keys."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, bytes):
            h.update(b"b%d:" % len(part) + part)
        else:
            text = part if isinstance(part, str) else json.dumps(part, sort_keys=True, default=str)
            data = text.encode("utf-8")
            h.update(b"s%d:" % len(data) + data)
    return h.hexdigest()


class FileHashes:
    """Content hashes of files, remembered against (size, mtime_ns, inode) so unchanged files are not reread."""

    def __init__(self, path: Path | None):
        self.path = Path(path) if path else None
        self._lock = threading.Lock()
        self._known: dict[str, list] = {}
        self._dirty = False
        if self.path and self.path.exists():
            try:
                self._known = json.loads(self.path.read_text(encoding="utf-8"))
            except (ValueError, OSError):
                self._known = {}

    def file(self, path: Path) -> str:
        path = Path(path).resolve()
        stat = path.stat()
        signature = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
        with self._lock:
            known = self._known.get(str(path))
        if known and known[:3] == signature:
            return known[3]
        h = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                h.update(chunk)
        digest = h.hexdigest()
        with self._lock:
            self._known[str(path)] = signature + [digest]
            self._dirty = True
        return digest

    def tree(self, root: Path, pattern: str = "*") -> str:
        """Hash of every file under `root` matching `pattern`: relative names and contents."""
        root = Path(root)
        if not root.exists():
            return key("missing", str(root))
        if root.is_file():
            return key(root.name, self.file(root))
        files = sorted(p for p in root.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts)
        return key(*[part for p in files for part in (str(p.relative_to(root)), self.file(p))])

    def files(self, paths: Iterable[Path]) -> str:
        return key(*[part for p in paths for part in (Path(p).name, self.file(p))])

    def save(self) -> None:
        """Write the remembered hashes (of files that still exist) for the next build."""
        if not self.path or not self._dirty:
            return
        with self._lock:
            known = {p: v for p, v in self._known.items() if Path(p).exists()}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(known, sort_keys=True), encoding="utf-8")
            tmp.replace(self.path)
            self._dirty = False


def code_version(*names: str, hashes: FileHashes | None = None) -> str:
    """Hash of the package's own files (module names such as 'warehouse.py', or folders such as 'templates')."""
    hashes = hashes or FileHashes(None)
    return key(*[part for name in names for part in (name, hashes.tree(PACKAGE_DIR / name))])


class StageRecord:
    """`stages.json`: for each stage, the key of its last successful run and what it recorded."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.stages: dict[str, dict] = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.stages = {}

    def get(self, stage: str, stage_key: str) -> dict | None:
        """What the stage recorded, when its last run had this key; else None."""
        entry = self.stages.get(stage)
        if entry and entry.get("key") == stage_key:
            return entry
        return None

    def put(self, stage: str, stage_key: str, **recorded: Any) -> None:
        with self._lock:
            self.stages[stage] = {"key": stage_key, **recorded}
            self._write()

    def forget(self, stage: str) -> None:
        """Before a stage runs: a crash half-way must not leave its old key in place."""
        with self._lock:
            if self.stages.pop(stage, None) is not None:
                self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.stages, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(self.path)
