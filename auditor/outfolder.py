"""One whole audit per output folder: written into a staging folder beside the target, then
swapped in whole, under a lock (docs/output-folder.md).

    with output_folder(out_dir) as folder:     # path checks and the lock, before collection
        write files into folder.staging
        folder.commit("audit")                  # manifest.json last, then the swap

Beside the target DIR (same parent, so the same file system):
- `.DIR.lock`: flock'ed for the whole run; the OS releases it when the process dies, so a
  killed run leaves no stale lock. The file itself stays.
- `.DIR.staging-<id>`: the new audit while it is written; after the swap, the previous one.
- `.DIR.old-<id>`: only where the file system cannot exchange two folders atomically.
A run that was killed leaves at most these; the next run into DIR removes them (under the lock),
first putting a moved-away previous audit back if DIR itself is missing.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import errno
import fcntl
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from auditor import __version__
from auditor.canonical import pretty_bytes, write_atomic
from auditor.errors import InputError
from auditor.killhook import checkpoint
from auditor.manifest import MANIFEST, build_manifest, read_manifest

# A folder without a manifest (written before manifests existed) may be replaced only when it
# holds nothing but files with these names.
AUDIT_FILES = frozenset({
    "evidence.json", "results.json", "report.html", "report.pdf", "report-pdfa.pdf",
    "findings.csv", "junit.xml", "summary.md", "evidence-appendix.html",
    "evidence-appendix.pdf", MANIFEST})
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def exchange(a: Path, b: Path) -> bool:
    """Swap two folders atomically (Linux renameat2 RENAME_EXCHANGE); False where the system or
    the file system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_shape(target: Path, shown: Path) -> None:
    """The target is a folder or nothing, and a folder can be made where it is."""
    if not target.name:
        raise InputError(shown, "is not a folder an audit can be swapped into")
    if target.is_symlink():
        raise InputError(shown, "is a symbolic link; give the folder itself")
    if target.exists() and not target.is_dir():
        raise InputError(shown, "is a file, not a folder")
    ancestor = target.parent
    while not os.path.lexists(ancestor):
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(shown, f"cannot be made: {ancestor} is not a folder")


class OutputFolder:
    """The target folder, its lock and its staging folder for one run."""

    def __init__(self, target: Path, *, atomic_exchange: bool = True) -> None:
        self.shown = target  # as the user wrote it, for messages
        self.target = Path(os.path.abspath(target))
        self.run_id = uuid.uuid4().hex
        self.staging = self.target.parent / f".{self.target.name}.staging-{self.run_id[:12]}"
        self.swapped = False
        self._exchange = atomic_exchange
        self._lock: int | None = None
        name = re.escape(self.target.name)
        self._leftover = re.compile(rf"\.{name}\.(staging|old)-[0-9a-f]{{12}}")

    def open(self) -> None:
        """Check the path, take the lock, clean up after a killed run, make the staging folder.
        Every output-path problem shows here, before any collection."""
        _check_shape(self.target, self.shown)
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self._take_lock()
            self._recover()
            self._check_contents()
            self.staging.mkdir()
        except OSError as exc:
            raise InputError(self.shown, f"cannot be written: {exc.strerror or exc}") from None
        checkpoint("staging")

    def _take_lock(self) -> None:
        path = self.target.parent / f".{self.target.name}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InputError(self.shown, f"is in use by another audit (it holds {path.name});"
                                          " try again when that one is done") from None
        self._lock = fd

    def _recover(self) -> None:
        """Remove what a killed run left; if it was killed between the two renames of a swap
        (no atomic exchange), put the previous audit back first."""
        parent = self.target.parent
        leftovers = sorted((p for p in parent.iterdir() if self._leftover.fullmatch(p.name)),
                           key=lambda p: p.stat().st_mtime)
        old = [p for p in leftovers if ".old-" in p.name]
        if old and not os.path.lexists(self.target):
            os.rename(old[-1], self.target)
            leftovers.remove(old[-1])
        for path in leftovers:
            shutil.rmtree(path, ignore_errors=True)

    def _check_contents(self) -> None:
        """Only an audit (or an empty folder) may be replaced: never a folder of other files."""
        if not self.target.is_dir():
            return
        names = {p.name for p in self.target.iterdir()}
        manifest = read_manifest(self.target)
        ours = {f.name for f in manifest.files} | {MANIFEST} if manifest else AUDIT_FILES
        foreign = sorted(names - ours)
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise InputError(self.shown, f"holds files that are not part of an audit ({shown});"
                                          " give a new or empty folder")

    def commit(self, command: str) -> list[Path]:
        """Write the manifest last, then swap the staging folder in; the final files' paths."""
        checkpoint("files")
        manifest = build_manifest(self.staging, self.run_id, command, __version__,
                                  dt.datetime.now(dt.UTC))
        write_atomic(self.staging / MANIFEST, pretty_bytes(manifest.model_dump(mode="json")))
        try:
            _fsync_dir(self.staging)
            checkpoint("manifest")
            previous = self._swap()
        except OSError as exc:
            raise InputError(self.shown, f"cannot be replaced: {exc.strerror or exc}") from None
        self.swapped = True
        with contextlib.suppress(OSError):  # durability only: the swap itself is done
            _fsync_dir(self.target.parent)
        checkpoint("swapped")
        if previous is not None:
            shutil.rmtree(previous, ignore_errors=True)
        checkpoint("done")
        return [self.target / f.name for f in manifest.files] + [self.target / MANIFEST]

    def _swap(self) -> Path | None:
        """Put the staging folder at the target; where the previous audit went (or None)."""
        if not os.path.lexists(self.target):
            os.rename(self.staging, self.target)
            return None
        if self._exchange and exchange(self.staging, self.target):
            return self.staging
        old = self.target.parent / f".{self.target.name}.old-{self.run_id[:12]}"
        os.rename(self.target, old)
        checkpoint("moved-old")
        os.rename(self.staging, self.target)
        return old

    def close(self) -> None:
        """Drop an unfinished staging folder and release the lock."""
        if not self.swapped and self.staging.exists():
            shutil.rmtree(self.staging, ignore_errors=True)
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def outside(self, exc: InputError) -> InputError:
        """An error about a staged file, told about the file's place in the target."""
        staged = str(self.staging)
        if not exc.path.startswith(staged):
            return exc
        return InputError(str(self.shown) + exc.path[len(staged):], exc.message,
                          line=exc.line, field=exc.field)


@contextmanager
def output_folder(target: Path, *, atomic_exchange: bool = True) -> Iterator[OutputFolder]:
    """An OutputFolder opened (checked and locked) for the block, closed after it."""
    folder = OutputFolder(target, atomic_exchange=atomic_exchange)
    try:
        folder.open()
        yield folder
    except InputError as exc:
        raise folder.outside(exc) from None
    finally:
        folder.close()


def dated_folder(root: Path, at: dt.datetime) -> Path:
    """A new folder under `root` named by the UTC time, for runs that keep every audit."""
    return root / at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H%M%SZ")


def point_latest(root: Path, folder: Path) -> Path:
    """Make `root/latest` name `folder` (relative), replacing the link in one rename."""
    link = root / "latest"
    staging = root / f".latest.{os.getpid()}"
    staging.unlink(missing_ok=True)
    staging.symlink_to(folder.name)
    os.replace(staging, link)
    _fsync_dir(root)
    return link
