"""Bad input: one line per error naming file, line and field; exit code 2; never a traceback.

The corpus (tests/bad_input) holds real files, each stating its expected error lines: YAML files
in `# expect: ` comment lines (the first at the top, any further ones at the end, so that line
numbers stay those of a file without them), JSON and CSV cases in the folder's expected.yaml.
Most cases run the CLI in this process (fast); the ones about the file system run it as a real
process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from auditor.cli import app
from auditor.cli.common import _input_errors, _State
from auditor.errors import MAX_REPORTED, InputError, MultipleInputError, reads_input
from auditor.evidence import read_bundle
from auditor.limits import MAX_BUNDLE_BYTES
from auditor.results import read_results
from auditor.yamlio import MAX_INPUT_BYTES, load_yaml

CORPUS = Path(__file__).resolve().parent.parent / "bad_input"
DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"


def run_cli(*args: str, cwd: Path = CORPUS) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "auditor", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The CLI run in this process from the corpus folder: (exit code, stdout, stderr)."""
    monkeypatch.chdir(CORPUS)
    runner = CliRunner()

    def invoke(*args: str) -> subprocess.CompletedProcess[str]:
        result = runner.invoke(app, list(args))
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"{args} raised {result.exception!r}") from result.exception
        return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)

    yield invoke
    _State.debug = False


def expected_of(path: Path) -> list[str]:
    """The `# expect: ` lines of a corpus file, in order."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    assert lines[0].startswith("# expect: "), f"{path} does not state its expected error"
    return [line.removeprefix("# expect: ") for line in lines if line.startswith("# expect: ")]


def expected_table(folder: str) -> dict[str, list[str]]:
    data, _ = load_yaml(CORPUS / folder / "expected.yaml")
    return {name: value if isinstance(value, list) else [value] for name, value in data.items()}


def assert_bad_input(result: subprocess.CompletedProcess[str], expected: list[str] | str) -> None:
    lines = [expected] if isinstance(expected, str) else expected
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == "\n".join(f"error: {line}" for line in lines)


INVENTORIES = sorted((CORPUS / "inventory").glob("*.yaml"))
WAIVERS = sorted((CORPUS / "waivers").glob("*.yaml"))
RECORDS = sorted(p for p in (CORPUS / "records").glob("*.yaml") if p.name != "expected.yaml")
BUNDLES = expected_table("bundle")
RESULTS = expected_table("results")
RECORD_FOLDERS = expected_table("records")
NOWS = expected_table("now")


@pytest.mark.parametrize("path", INVENTORIES, ids=[p.stem for p in INVENTORIES])
def test_bad_inventory(cli: Any, path: Path) -> None:
    assert_bad_input(cli("inventory", "validate", f"inventory/{path.name}"), expected_of(path))


@pytest.mark.parametrize("path", WAIVERS, ids=[p.stem for p in WAIVERS])
def test_bad_waivers(cli: Any, path: Path) -> None:
    result = cli("inventory", "validate", "good_inventory.yaml", "--waivers",
                 f"waivers/{path.name}")
    assert_bad_input(result, expected_of(path))


@pytest.mark.parametrize("path", RECORDS, ids=[p.stem for p in RECORDS])
def test_bad_records(cli: Any, path: Path) -> None:
    assert_bad_input(cli("records", "validate", f"records/{path.name}"), expected_of(path))


@pytest.mark.parametrize("name", sorted(RECORD_FOLDERS))
def test_bad_record_folders(cli: Any, name: str) -> None:
    assert_bad_input(cli("records", "validate", f"records/{name}"), RECORD_FOLDERS[name])


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_bad_bundles(cli: Any, name: str, tmp_path: Path) -> None:
    result = cli("evaluate", f"bundle/{name}", "--inventory", "good_inventory.yaml",
                 "--out", str(tmp_path / "results.json"))
    assert_bad_input(result, BUNDLES[name])
    assert not (tmp_path / "results.json").exists()


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_bad_results(cli: Any, name: str, tmp_path: Path) -> None:
    result = cli("report", f"results/{name}", "--inventory", "good_inventory.yaml",
                 "--out", str(tmp_path), "--format", "html")
    assert_bad_input(result, RESULTS[name])
    assert not (tmp_path / "report.html").exists()


def test_the_results_cases_differ_from_a_valid_file_only_in_their_fault() -> None:
    """The base the results cases were made from is read without error."""
    results = read_results(CORPUS / "results" / "valid.json")
    assert results.overall.counts["fail"] == 1


@pytest.mark.parametrize("value", sorted(NOWS))
def test_bad_now(cli: Any, value: str, tmp_path: Path) -> None:
    result = cli("evaluate", "bundle/valid.json", "--inventory", "good_inventory.yaml",
                 "--out", str(tmp_path / "r.json"), "--now", value)
    assert_bad_input(result, NOWS[value])


def test_every_error_of_a_file_is_reported_up_to_the_limit(cli: Any) -> None:
    result = cli("inventory", "validate", "inventory/twenty_five_errors.yaml")
    lines = result.stderr.strip().splitlines()
    assert len(lines) == MAX_REPORTED + 1
    assert lines[-1] == "error: … and 5 more"
    numbers = [int(line.split(":")[2]) for line in lines[:-1]]
    assert numbers == sorted(numbers)


def _special_files(tmp: Path) -> dict[str, str]:
    """Files that cannot carry their own expectation: made here, expectation beside them."""
    (tmp / "a_directory.yaml").mkdir()
    os.mkfifo(tmp / "a_fifo.yaml")
    (tmp / "dangling.yaml").symlink_to(tmp / "nowhere.yaml")
    (tmp / "loop.yaml").symlink_to(tmp / "loop.yaml")
    (tmp / "latin1.yaml").write_bytes(b"version: 1\nestate: {name: Caf\xe9}\n")
    (tmp / "empty.yaml").write_bytes(b"")
    (tmp / "blank.yaml").write_bytes(b"\n  \n")
    with (tmp / "huge.yaml").open("wb") as handle:
        handle.truncate(MAX_INPUT_BYTES + 1)
    return {
        "a_directory.yaml": "a_directory.yaml: is a directory, expected a file",
        "a_fifo.yaml": "a_fifo.yaml: is not a regular file (FIFO, socket or device)",
        "dangling.yaml": "dangling.yaml: dangling symbolic link",
        "loop.yaml": "loop.yaml: cannot read: Too many levels of symbolic links",
        "missing.yaml": "missing.yaml: file not found",
        "latin1.yaml": "latin1.yaml:2: not valid UTF-8 text",
        "empty.yaml": "empty.yaml:1: file is empty",
        "blank.yaml": "blank.yaml:1: file is empty",
        "huge.yaml": f"huge.yaml: file too large ({MAX_INPUT_BYTES + 1} bytes, "
                     f"limit {MAX_INPUT_BYTES})",
    }


def test_special_files(tmp_path: Path) -> None:
    for name, message in _special_files(tmp_path).items():
        assert_bad_input(run_cli("inventory", "validate", name, cwd=tmp_path), message)


def test_records_in_a_symlink_loop(tmp_path: Path) -> None:
    """Named by the inventory (whose folder resolution once raised RuntimeError) and directly;
    a record file in a loop inside a records folder too."""
    good = (CORPUS / "good_inventory.yaml").read_text(encoding="utf-8")
    (tmp_path / "inventory.yaml").write_text(good + "records: looped\n", encoding="utf-8")
    (tmp_path / "looped").symlink_to(tmp_path / "looped")
    result = run_cli("collect", "--inventory", "inventory.yaml", "--out", "evidence.json",
                     cwd=tmp_path)
    assert_bad_input(result, f"{tmp_path}/looped: cannot read: Too many levels of symbolic links")
    assert_bad_input(run_cli("records", "validate", "looped", cwd=tmp_path),
                     "looped: cannot read: Too many levels of symbolic links")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "training.yaml").symlink_to(tmp_path / "folder" / "training.yaml")
    assert_bad_input(run_cli("records", "validate", "folder", cwd=tmp_path),
                     "folder/training.yaml: cannot read: Too many levels of symbolic links")
    assert not (tmp_path / "evidence.json").exists()


SYSTEM_FILES = [Path(p) for p in ("/etc/passwd", "/etc/group", "/etc/hosts", "/etc/shadow",
                                  "/etc/os-release", "/proc/self/environ", "/proc/cpuinfo")]


@pytest.mark.parametrize("path", SYSTEM_FILES, ids=[p.name for p in SYSTEM_FILES])
def test_a_system_file_named_as_records_is_not_echoed(cli: Any, path: Path) -> None:
    """The error names the file and the problem, never a line of the file's content."""
    if not os.access(path, os.R_OK):
        pytest.skip(f"{path} is not readable here")
    result = cli("records", "validate", str(path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {path}")
    content = path.read_bytes().decode("utf-8", "replace").replace("\x00", "\n")
    for line in content.splitlines():
        for piece in line.split(":"):
            if len(piece) >= 6:
                assert piece not in result.stderr, f"{path}: echoed {piece!r}"


def test_bundle_limit_fits_500_instances() -> None:
    """The bundle size limit holds the bundle of the largest estate the tool is built for (500
    SQL instances), estimated from the demo bundles' bytes per instance, with room to spare."""
    per_instance = max(
        (estate / "evidence.json").stat().st_size
        / len(load_yaml(estate / "inventory.yaml")[0]["sql_instances"])
        for estate in DEMO.iterdir() if (estate / "evidence.json").exists())
    assert 500 * per_instance * 2 <= MAX_BUNDLE_BYTES


def test_a_bundle_larger_than_the_yaml_limit_is_read(tmp_path: Path) -> None:
    """The 8 MiB limit of YAML inputs once refused bundles of 25 instances."""
    raw = json.loads((DEMO / "healthy" / "evidence.json").read_text(encoding="utf-8"))
    observations = raw["observations"]
    raw["observations"] = [{**obs, "id": f"{obs['id']}#{copy}"}
                           for copy in range(5) for obs in observations]
    path = tmp_path / "evidence.json"
    path.write_text(json.dumps(raw, indent=2), encoding="utf-8")
    assert path.stat().st_size > MAX_INPUT_BYTES
    bundle, _ = read_bundle(path)
    assert len(bundle.observations) == 5 * len(observations)


def test_a_bundle_beyond_its_limit_is_refused(cli: Any, tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:
        handle.truncate(MAX_BUNDLE_BYTES + 1)
    result = cli("evaluate", str(huge), "--inventory", "good_inventory.yaml", "--out",
                 str(tmp_path / "r.json"))
    assert_bad_input(result, f"{huge}: file too large ({MAX_BUNDLE_BYTES + 1} bytes, "
                             f"limit {MAX_BUNDLE_BYTES})")


@reads_input
def _reader_with_a_bug(path: Path) -> None:
    raise ZeroDivisionError("a line of the file")


def test_an_unforeseen_failure_while_reading_is_bad_input_without_content(
        capsys: pytest.CaptureFixture[str]) -> None:
    """The safety net: one line naming the file, exit 2, not the exception's text."""
    with pytest.raises(InputError) as caught:
        _reader_with_a_bug(Path("records.yaml"))
    assert "a line of the file" not in str(caught.value)
    assert isinstance(caught.value.__cause__, ZeroDivisionError)
    with pytest.raises(typer.Exit) as exited, _input_errors():
        _reader_with_a_bug(Path("records.yaml"))
    assert exited.value.exit_code == 2
    assert capsys.readouterr().err.startswith("error: records.yaml: could not be read "
                                              "(ZeroDivisionError)")


def test_debug_raises_with_the_original_cause() -> None:
    _State.debug = True
    try:
        with pytest.raises(InputError) as caught, _input_errors():
            _reader_with_a_bug(Path("records.yaml"))
    finally:
        _State.debug = False
    assert isinstance(caught.value.__cause__, ZeroDivisionError)


def test_an_exception_outside_reading_is_not_hidden() -> None:
    """A bug in evaluation keeps its traceback: the boundary only turns AuditorError into
    exit 2."""
    with pytest.raises(ZeroDivisionError), _input_errors():
        raise ZeroDivisionError


def test_several_errors_keep_their_order_and_count() -> None:
    errors = [InputError("f.yaml", f"problem {i}", line=i) for i in range(1, 24)]
    lines = MultipleInputError(errors).lines()
    assert lines[0] == "f.yaml:1: problem 1"
    assert lines[MAX_REPORTED - 1] == f"f.yaml:{MAX_REPORTED}: problem {MAX_REPORTED}"
    assert lines[-1] == "… and 3 more"


def test_corpus_is_large_enough() -> None:
    files = (len(INVENTORIES) + len(WAIVERS) + len(RECORDS) + len(RECORD_FOLDERS)
             + len(BUNDLES) + len(RESULTS) + len(NOWS) + len(SYSTEM_FILES) + 9 + 3)
    assert files >= 130


def test_yaml_numbers_are_plain(tmp_path: Path) -> None:
    """Base-60 forms are text (a time of day written unquoted stays a time); dates stay text;
    only true/false are booleans; ordinary numbers are numbers."""
    path = tmp_path / "values.yaml"
    path.write_text("a: 12:30\nb: 1_000\nc: 2.5\nd: 2026-01-31\ne: yes\nf: true\ng: 0x1f\n",
                    encoding="utf-8")
    data, _ = load_yaml(path)
    assert data == {"a": "12:30", "b": 1000, "c": 2.5, "d": "2026-01-31", "e": "yes", "f": True,
                    "g": 31}
