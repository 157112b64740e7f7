"""exotwin.io: staged, non-destructive output folders and atomic files."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from exotwin.errors import OutputError, PathError
from exotwin.io import (
    MANIFEST,
    atomic_write_text,
    claim_folder,
    output_folder,
    read_manifest,
    remove_outputs,
)


def _write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")


def _tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if ".exotwin-staging-" in p.name or ".tmp" in p.name]


def test_a_new_folder_appears_whole_with_its_manifest(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with output_folder(out) as staging:
        _write(staging, {"a.csv": "1", "arm/b.png": "2"})
        assert not out.exists()
    assert _tree(out) == {"a.csv": "1", "arm/b.png": "2", MANIFEST: _tree(out)[MANIFEST]}
    assert read_manifest(out) == ["a.csv", "arm/b.png"]
    assert not _leftovers(tmp_path)


def test_a_rerun_replaces_only_exotwins_files(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with output_folder(out) as staging:
        _write(staging, {"a.csv": "old", "stale/old_arm.png": "old", "kept.txt": "old"})
    _write(out, {"notes.txt": "mine", "stale/my_sketch.png": "mine"})
    with output_folder(out) as staging:
        _write(staging, {"a.csv": "new", "kept.txt": "new"})
    tree = _tree(out)
    assert tree["a.csv"] == "new" and tree["kept.txt"] == "new"
    assert tree["notes.txt"] == "mine" and tree["stale/my_sketch.png"] == "mine"
    assert "stale/old_arm.png" not in tree  # stale output of the earlier run: removed
    assert read_manifest(out) == ["a.csv", "kept.txt"]
    with output_folder(out) as staging:
        _write(staging, {"a.csv": "newer"})
    assert not (out / "kept.txt").exists() and (out / "notes.txt").exists()
    assert not _leftovers(tmp_path)


def test_a_stale_subfolder_of_exotwins_own_disappears(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with output_folder(out) as staging:
        _write(staging, {"arm-a/x.csv": "1", "arm-b/x.csv": "1"})
    with output_folder(out) as staging:
        _write(staging, {"arm-a/x.csv": "2"})
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "arm-a"]


def test_a_folder_exotwin_did_not_make_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    _write(out, {"notes.txt": "mine"})
    with (
        pytest.raises(OutputError, match=r"not written by exotwin.*--overwrite"),
        output_folder(out),
    ):
        pytest.fail("must not get here")
    assert _tree(out) == {"notes.txt": "mine"} and not _leftovers(tmp_path)


def test_overwrite_writes_beside_the_users_files_never_over_them(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    _write(out, {"notes.txt": "mine", "report.html": "my report"})
    with output_folder(out, overwrite=True) as staging:
        _write(staging, {"summary.json": "{}"})
    assert _tree(out)["notes.txt"] == "mine" and _tree(out)["summary.json"] == "{}"
    with (
        pytest.raises(OutputError, match=r"report\.html: exists and was not written by exotwin"),
        output_folder(out, overwrite=True) as staging,
    ):
        _write(staging, {"report.html": "exotwin's", "summary.json": "[]"})
    assert _tree(out)["report.html"] == "my report" and _tree(out)["summary.json"] == "{}"
    assert not _leftovers(tmp_path)


def test_an_empty_existing_folder_is_used(tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    with output_folder(out) as staging:
        _write(staging, {"a": "1"})
    assert read_manifest(out) == ["a"]


@pytest.mark.parametrize("where", ["cwd", "root", "home", "repository"])
def test_dangerous_folders_are_refused_outright(
    where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    target = {"cwd": Path("."), "root": Path("/"), "home": Path.home(), "repository": Path("repo")}
    with (
        pytest.raises(OutputError, match=r"current folder|root of|home folder"),
        output_folder(target[where], overwrite=True),
    ):
        pytest.fail("must not get here")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"]


def test_a_file_is_not_an_output_folder(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match="is a file"), output_folder(tmp_path / "f"):
        pass


@pytest.mark.parametrize("error", [RuntimeError("crash"), KeyboardInterrupt()])
def test_an_error_while_writing_leaves_the_previous_output(
    error: BaseException, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    with output_folder(out) as staging:
        _write(staging, {"a.csv": "old"})
    _write(out, {"notes.txt": "mine"})
    before = _tree(out)
    with pytest.raises(type(error)), output_folder(out) as staging:
        _write(staging, {"a.csv": "half"})
        raise error
    assert _tree(out) == before and not _leftovers(tmp_path)


def test_no_space_names_the_output(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with (
        pytest.raises(PathError, match=f"{out}: cannot write output folder: no space left"),
        output_folder(out),
    ):
        raise OSError(errno.ENOSPC, "No space left on device")
    assert not out.exists() and not _leftovers(tmp_path)


def test_unwritable_parent_is_a_typed_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with (
        pytest.raises(PathError, match="file/out: cannot write output folder: a file stands"),
        output_folder(tmp_path / "file" / "out"),
    ):
        pass
    with pytest.raises(PathError, match=r"file/x\.csv: cannot write: a file stands"):
        atomic_write_text(tmp_path / "file" / "x.csv", "x")


def test_a_manifest_cannot_point_outside_its_folder(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    out = tmp_path / "run"
    out.mkdir()
    (out / MANIFEST).write_text(json.dumps({"files": ["../victim.txt", "/etc/hosts", "a"]}))
    assert read_manifest(out) == ["a"]
    with output_folder(out) as staging:
        _write(staging, {"b": "1"})
    assert victim.read_text(encoding="utf-8") == "keep"


def test_a_file_output_refuses_a_folder(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="is a folder; give a file name"):
        atomic_write_text(tmp_path, "x")


def test_staging_of_a_killed_process_is_cleaned_up(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    ).stdout.strip()
    orphan = tmp_path / f".run.exotwin-staging-{dead}-abc"
    _write(orphan, {"half.csv": "x"})
    with output_folder(tmp_path / "run") as staging:
        _write(staging, {"a": "1"})
    assert not orphan.exists()


def test_a_resumable_folder_is_claimed_then_cleaned(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    claim_folder(out, ["chunks/c0.parquet", "results.parquet"])
    _write(out, {"chunks/c0.parquet": "x", "notes.txt": "mine"})
    claim_folder(out, ["chunks/c0.parquet", "results.parquet"])  # resumed: fine
    remove_outputs(out, read_manifest(out) or [])
    assert _tree(out) == {"notes.txt": "mine", MANIFEST: _tree(out)[MANIFEST]}
    _write(tmp_path / "other", {"results.parquet": "mine"})
    with pytest.raises(OutputError, match="not written by exotwin"):
        claim_folder(tmp_path / "other", ["results.parquet"])
    with pytest.raises(OutputError, match=r"results\.parquet: exists and was not written"):
        claim_folder(tmp_path / "other", ["results.parquet"], overwrite=True)


SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from exotwin.cli_common import exit_on_sigterm
    from exotwin.io import output_folder

    exit_on_sigterm()
    with output_folder(Path(sys.argv[1])) as staging:
        (staging / "a.csv").write_text("half")
        print("ready", flush=True)
        time.sleep(60)
    """
)


def interruptible() -> None:
    """In the child: SIGINT back to its default (a shell that starts the tests in the
    background ignores SIGINT, and children inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])
def test_a_killed_writer_leaves_the_previous_output(signum: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    with output_folder(out) as staging:
        _write(staging, {"a.csv": "old"})
    before = _tree(out)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, str(out)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=interruptible,
    ) as proc:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        assert _leftovers(tmp_path)  # the staging folder exists while it writes
        proc.send_signal(getattr(signal, signum))
        assert proc.wait(timeout=30) != 0
    assert _tree(out) == before and not _leftovers(tmp_path)
