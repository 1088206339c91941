"""Publish a finished site: swap it in only when complete, so a failed build leaves the old one intact.

Where the system can exchange two folders in one step (Linux `renameat2(RENAME_EXCHANGE)`, on the file systems
that support it), the new site and the old one trade places atomically: a process killed at any instant leaves
either the old site or the new one published, never neither. Elsewhere the old site is moved aside and the new
one moved in (two renames); a build killed between them leaves the old site aside, and the next build's
`recover` puts it back.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
from pathlib import Path

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _previous(site: Path) -> Path:
    return site.with_name(f".{site.name}.previous")


def recover(site: Path) -> None:
    """A build killed between the two renames below leaves the old site aside: put it back."""
    previous = _previous(site)
    if previous.exists() and not site.exists():
        os.replace(previous, site)
    elif previous.exists():
        shutil.rmtree(previous)


def lock_path(site: Path) -> Path:
    """The site's lock (see locks.py): held while a build assembles the next site and swaps it in."""
    site = Path(site)
    return site.with_name(f".{site.name}.lock")


def staging_dir(site: Path) -> Path:
    """Where the next site is assembled: beside the published one (same file system, so renames are atomic).
    One folder per site, used only under the site's lock."""
    site = Path(site)
    site.parent.mkdir(parents=True, exist_ok=True)
    return site.with_name(f".{site.name}.next")


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one atomic step; False where the system or file system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # not Linux, or a C library without renameat2
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def publish(new_site: Path, site: Path) -> None:
    site, new_site = Path(site), Path(new_site)
    recover(site)
    if site.is_dir() and not site.is_symlink() and exchange(new_site, site):
        shutil.rmtree(new_site)  # the old site, now in the staging folder (a kill here leaves it for the next render)
        return
    previous = _previous(site)
    if site.exists():
        os.replace(site, previous)
    os.replace(new_site, site)
    if previous.exists():
        shutil.rmtree(previous)
