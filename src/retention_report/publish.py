"""Publish a finished site: swap it in only when complete, so a failed build leaves the old one intact."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def _previous(site: Path) -> Path:
    return site.with_name(f".{site.name}.previous")


def recover(site: Path) -> None:
    """A build killed between the two renames below leaves the old site aside: put it back."""
    previous = _previous(site)
    if previous.exists() and not site.exists():
        os.replace(previous, site)
    elif previous.exists():
        shutil.rmtree(previous)


def staging_dir(site: Path) -> Path:
    """Where the next site is assembled: beside the published one (same file system, so renames are atomic)."""
    site = Path(site)
    site.parent.mkdir(parents=True, exist_ok=True)
    return site.with_name(f".{site.name}.next")


def publish(new_site: Path, site: Path) -> None:
    site, new_site = Path(site), Path(new_site)
    recover(site)
    previous = _previous(site)
    if site.exists():
        os.replace(site, previous)
    os.replace(new_site, site)
    if previous.exists():
        shutil.rmtree(previous)
