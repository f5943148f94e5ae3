"""One whole audit per output folder: kills at each step of the write path, two audits at once,
the manifest check of `auditor report`, and output paths that cannot be written."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.canonical import write_atomic
from auditor.errors import InputError
from auditor.manifest import MANIFEST, problems, read_manifest
from auditor.outfolder import output_folder
from tests.outfolderkit import (
    ESTATE,
    KILLED,
    ROOT,
    audit_args,
    demo_args,
    env,
    leftovers,
    pdf_workers,
    run,
    run_id,
)

BEFORE_SWAP = ("staging", "evidence", "files", "manifest")
AFTER_SWAP = ("swapped", "done")


@pytest.fixture(scope="module")
def previous(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete audit (JSON only), copied by each test that overwrites it."""
    folder = tmp_path_factory.mktemp("previous") / "audit"
    done = run(audit_args(folder))
    assert done.returncode == 0, done.stderr
    return folder


def _copy(folder: Path, to: Path) -> Path:
    to.mkdir()
    for path in folder.iterdir():
        (to / path.name).write_bytes(path.read_bytes())
    return to


@pytest.mark.parametrize("step", BEFORE_SWAP + AFTER_SWAP)
def test_a_kill_at_each_step_leaves_the_old_or_the_new_audit(step: str, previous: Path,
                                                             tmp_path: Path) -> None:
    folder = _copy(previous, tmp_path / "audit")
    old = run_id(folder)
    killed = run(audit_args(folder), kill_at=step)
    assert killed.returncode == KILLED, killed.stderr
    now = run_id(folder)  # the manifest matches the files: one whole audit
    assert (now == old) is (step in BEFORE_SWAP)
    again = run(audit_args(folder))  # the next run cleans up what the kill left
    assert again.returncode == 0, again.stderr
    assert run_id(folder) not in (old, now)
    assert leftovers(folder) == []


def test_a_kill_into_a_new_folder_leaves_nothing_or_the_whole_audit(tmp_path: Path) -> None:
    assert run(audit_args(tmp_path / "a"), kill_at="manifest").returncode == KILLED
    assert not (tmp_path / "a").exists()
    assert run(audit_args(tmp_path / "b"), kill_at="swapped").returncode == KILLED
    run_id(tmp_path / "b")


_FALLBACK = """
import sys
from pathlib import Path
from auditor.outfolder import output_folder
with output_folder(Path(sys.argv[1]), atomic_exchange=False) as folder:
    (folder.staging / "results.json").write_bytes(b"new")
    folder.commit("test")
"""


@pytest.mark.parametrize(("step", "kept"), [("moved-old", "old"), ("swapped", "new")])
def test_without_an_atomic_exchange_a_kill_between_the_renames_is_repaired(
        step: str, kept: str, previous: Path, tmp_path: Path) -> None:
    folder = _copy(previous, tmp_path / "audit")
    old = run_id(folder)
    killed = subprocess.run([sys.executable, "-c", _FALLBACK, str(folder)], env=env(step),
                            cwd=ROOT, check=False, capture_output=True)
    assert killed.returncode == KILLED
    assert folder.exists() is (kept == "new")  # between the renames, the folder is away...
    with output_folder(folder):  # ...and the next run puts the previous audit back first
        assert (run_id(folder) == old) is (kept == "old")
        assert leftovers(folder) == [f for f in leftovers(folder) if ".staging-" in f]
    assert leftovers(folder) == []


def test_two_audits_into_one_folder_one_refuses(previous: Path, tmp_path: Path) -> None:
    folder = _copy(previous, tmp_path / "audit")
    first = subprocess.Popen(audit_args(folder), env=env(), cwd=ROOT, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: bool(leftovers(folder)), first)  # it holds the lock and stages
        os.kill(first.pid, signal.SIGSTOP)  # hold it there while the second one starts
        second = run(audit_args(folder))
    finally:
        os.kill(first.pid, signal.SIGCONT)
    _, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert second.returncode == 2
    assert second.stderr.strip() == (f"error: {folder}: is in use by another audit (it holds "
                                     ".audit.lock); try again when that one is done")
    assert "Traceback" not in second.stderr
    run_id(folder)
    assert leftovers(folder) == []


def _wait_for(ready: object, process: subprocess.Popen[str]) -> None:
    assert callable(ready)
    deadline = time.monotonic() + 60
    while not ready():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the first audit never started staging"
        time.sleep(0.005)


def test_the_lock_is_the_os_lock_on_the_file_beside_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "audit"
    with (tmp_path / ".audit.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(InputError, match="in use by another audit"), output_folder(folder):
            pass
    with output_folder(folder) as opened:  # released with the holder: no stale lock
        write_atomic(opened.staging / "results.json", b"{}")
        opened.commit("test")
    assert run_id(folder)


def test_report_checks_its_inputs_against_the_manifest(previous: Path, tmp_path: Path) -> None:
    folder = _copy(previous, tmp_path / "audit")
    args = [sys.executable, "-m", "auditor", "report", str(folder / "results.json"),
            "--inventory", str(ESTATE / "inventory.yaml"), "--bundle",
            str(folder / "evidence.json"), "--format", "md"]
    same = run([*args, "--out", str(folder)])  # into the folder it reads from
    assert same.returncode == 0, same.stderr
    manifest = read_manifest(folder)
    assert manifest is not None
    assert problems(folder, manifest) == []
    assert {f.name for f in manifest.files} == {"evidence.json", "results.json", "summary.md"}
    data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    data["estate"] = "edited"
    (folder / "results.json").write_text(json.dumps(data), encoding="utf-8")
    edited = run([*args, "--out", str(tmp_path / "other")])
    assert edited.returncode == 2
    assert edited.stderr.strip() == (f"error: {folder / 'results.json'}: does not match "
                                     f"{MANIFEST} of its folder (SHA-256 differs): changed "
                                     "after the audit wrote it")
    assert not (tmp_path / "other").exists()


def test_a_folder_of_other_files_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    done = run(audit_args(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip() == (f"error: {tmp_path}: holds files that are not part of an "
                                   "audit (notes.txt); give a new or empty folder")
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (root only), unmounted afterwards."""
    mount = tmp_path / "mnt"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                          capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def _missing_inventory(out: Path) -> list[str]:
    """An audit whose inventory does not exist: an output-path error must come first."""
    return [sys.executable, "-m", "auditor", "audit", "--inventory", "no-such.yaml",
            "--out", str(out)]


def _assert_one_line(done: subprocess.CompletedProcess[str], expected: str) -> None:
    assert "Traceback" not in done.stderr + done.stdout
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"error: {expected}"


def test_a_read_only_file_system_is_refused_before_collection(tmpfs: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    _assert_one_line(run(_missing_inventory(tmpfs / "audit")),
                     f"{tmpfs / 'audit'}: cannot be written: Read-only file system")


def test_a_full_disk_is_one_line(tmpfs: Path) -> None:
    _assert_one_line(run(audit_args(tmpfs / "audit")),
                     f"{tmpfs / 'audit'}/evidence.json: cannot be written: "
                     "No space left on device")
    assert os.listdir(tmpfs) == [".audit.lock"]


def test_output_paths_that_cannot_be_folders(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    cases = {
        tmp_path / "file": "is a file, not a folder",
        tmp_path / "file" / "sub": f"cannot be made: {tmp_path / 'file'} is not a folder",
        tmp_path / "dangling": "is a symbolic link; give the folder itself",
    }
    for out, message in cases.items():
        _assert_one_line(run(_missing_inventory(out)), f"{out}: {message}")


def test_collect_refuses_a_device_before_collecting(tmp_path: Path) -> None:
    done = run([sys.executable, "-m", "auditor", "collect", "--inventory", "no-such.yaml",
                "--out", "/dev/null"])
    _assert_one_line(done, "/dev/null: is a character device, not a regular file; refusing "
                           "to replace it")
    assert not Path("/dev/null").is_file()


def test_write_atomic_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "folder").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "target")
    (tmp_path / "target").write_bytes(b"kept")
    kinds = {"fifo": "a FIFO", "folder": "a folder", "link": "a symbolic link"}
    if os.geteuid() == 0:
        os.mknod(tmp_path / "null", 0o666 | 0o020000, os.makedev(1, 3))
        kinds["null"] = "a character device"
    for name, kind in kinds.items():
        with pytest.raises(InputError, match=f"is {kind}, not a regular file"):
            write_atomic(tmp_path / name, b"x")
    assert (tmp_path / "target").read_bytes() == b"kept"
    assert (tmp_path / "link").is_symlink()
    write_atomic(tmp_path / "target", b"new")  # a regular file is replaced
    assert (tmp_path / "target").read_bytes() == b"new"


def _as_from_a_terminal() -> None:
    """SIGINT handled by default, as for a command typed at a shell: pytest started in the
    background by a script inherits SIGINT ignored, and so would the audit."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
def test_ctrl_c_while_the_pdf_renders_is_one_line_and_keeps_the_old_audit(
        previous: Path, tmp_path: Path) -> None:
    folder = _copy(previous, tmp_path / "audit")
    old = run_id(folder)
    demo = subprocess.Popen(demo_args(folder), env=env(), cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, preexec_fn=_as_from_a_terminal)
    _wait_for(lambda: bool(pdf_workers(demo.pid)), demo)
    workers = pdf_workers(demo.pid)
    time.sleep(1)  # into the layout of the parts
    os.killpg(demo.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C
    stdout, stderr = demo.communicate(timeout=120)
    assert demo.returncode == 130
    assert stderr == f"interrupted: {folder} was left as it was\n"
    assert "Traceback" not in stdout
    assert run_id(folder) == old
    assert leftovers(folder) == []
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()
                and "Z" not in Path(f"/proc/{pid}/stat").read_text(encoding="ascii")]


def test_the_manifest_tells_a_changed_folder(tmp_path: Path) -> None:
    folder = tmp_path / "audit"
    with output_folder(folder) as opened:
        write_atomic(opened.staging / "results.json", b"{}")
        write_atomic(opened.staging / "report.html", b"<p>")
        written = opened.commit("test")
    assert written == [folder / "report.html", folder / "results.json", folder / MANIFEST]
    manifest = read_manifest(folder)
    assert manifest is not None
    assert problems(folder, manifest) == []
    (folder / "report.html").write_bytes(b"<b>")
    (folder / "results.json").unlink()
    (folder / "extra.txt").write_bytes(b"")
    assert problems(folder, manifest) == [
        "extra.txt: not in the manifest", "report.html: size or SHA-256 differs from the "
        "manifest", "results.json: missing"]
    (folder / MANIFEST).write_text('{"format": "other"}', encoding="utf-8")
    with pytest.raises(InputError, match="not a valid manifest"):
        read_manifest(folder)
