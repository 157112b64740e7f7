"""Output that never destroys: files and folders are staged beside their target, then renamed.

* A file is written to a hidden temporary file beside it, then moved onto it.
* A folder of outputs is written into a hidden staging folder beside it. A new folder is
  renamed into place whole. An existing one must be exotwin's (it holds
  :data:`MANIFEST`, the list of files exotwin wrote there) or be allowed with ``overwrite``;
  then only files of the old manifest are removed or replaced and nothing else is touched
  (a user's ``notes.txt`` survives). A file of the user's that the new output would replace
  is refused.
* The current folder, ``/``, the home folder and a repository root are never output folders.
* An error, Ctrl-C or SIGTERM before the final renames leaves the previous output as it was
  and removes the staging folder; the renames themselves run with those signals deferred.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import OutputError, PathError

MANIFEST = ".exotwin-manifest.json"
_STAGING = ".exotwin-staging-"

__all__ = [
    "MANIFEST",
    "atomic_path",
    "atomic_write",
    "atomic_write_text",
    "check_output_folder",
    "claim_folder",
    "output_folder",
    "path_error",
    "read_manifest",
    "remove_outputs",
]


def path_error(exc: OSError, path: Path | str | None = None, doing: str = "") -> PathError:
    """A typed one-line error for an OS error at ``path`` (default: the error's own path)."""
    where = path if path is not None else exc.filename
    reason = exc.strerror or str(exc)
    if isinstance(exc, FileNotFoundError):
        reason = "no such file or folder"
    elif isinstance(exc, NotADirectoryError | FileExistsError):
        reason = "a file stands where a folder is expected"
    elif isinstance(exc, IsADirectoryError):
        reason = "is a folder, expected a file"
    elif isinstance(exc, PermissionError):
        reason = "permission denied (read-only?)"
    elif exc.errno == 28:
        reason = "no space left on device"
    prefix = f"{where}: " if where is not None else ""
    return PathError(f"{prefix}{doing + ': ' if doing else ''}{reason}")


# ------------------------------------------------------------ single files


@contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces the file ``target``, on error it is
    removed. ``target`` must not be a folder."""
    target = Path(target)
    if target.is_dir():
        raise OutputError(f"{target}: is a folder; give a file name to write")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise path_error(exc, target, "cannot write") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        try:
            yield tmp_path
            os.replace(tmp_path, target)
        except OSError as exc:
            if exc.filename not in {None, str(tmp_path), tmp}:
                raise
            raise path_error(exc, target, "cannot write") from None
    finally:
        tmp_path.unlink(missing_ok=True)


def atomic_write_text(target: Path | str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="")


def atomic_write(target: Path | str, writer: Callable[[Path], None]) -> None:
    """Let ``writer`` write a temporary file, then move it onto ``target``."""
    with atomic_path(target) as tmp:
        writer(tmp)


# ------------------------------------------------------------ folders


def _refused(target: Path) -> str | None:
    """Why ``target`` may never be an output folder, or None."""
    resolved = target.resolve()
    if resolved == Path.cwd().resolve():
        return "is the current folder"
    if resolved == Path(resolved.anchor):
        return "is the root of the file system"
    if resolved == Path.home().resolve():
        return "is the home folder"
    if (resolved / ".git").exists():
        return "is the root of a repository (it holds .git)"
    return None


def read_manifest(folder: Path) -> list[str] | None:
    """The files exotwin wrote into ``folder`` (relative, POSIX), or None if it has no
    manifest. Entries that leave the folder are dropped."""
    path = folder / MANIFEST
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        files = data["files"] if isinstance(data, dict) else None
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError) as exc:
        raise OutputError(f"{path}: unreadable exotwin manifest ({exc}); remove it") from None
    if not isinstance(files, list):
        raise OutputError(f"{path}: unreadable exotwin manifest (no list of files); remove it")
    return [f for f in files if isinstance(f, str) and _inside(f)]


def _inside(relative: str) -> bool:
    parts = PurePosixPath(relative).parts
    return bool(parts) and not PurePosixPath(relative).is_absolute() and ".." not in parts


def _has_user_content(folder: Path) -> bool:
    return any(p.name != MANIFEST for p in folder.iterdir())


def check_output_folder(target: Path | str, overwrite: bool = False) -> list[str] | None:
    """Refuse ``target`` now (before any work) if it may not receive outputs; return the
    files of its manifest (None when exotwin did not make it)."""
    target = Path(target)
    place = Path(os.path.abspath(target))  # "new/.." is the folder above new, made or not
    why = _refused(place)
    if why:
        raise OutputError(f"{target}: {why}; choose a new or empty folder for the output")
    if place.exists() and not place.is_dir():
        raise OutputError(f"{target}: is a file; give a folder for the output")
    if not place.exists():
        return None
    try:
        manifest = read_manifest(place)
        if manifest is None and not overwrite and _has_user_content(place):
            raise OutputError(
                f"{target}: folder is not empty and was not written by exotwin; choose a new "
                "folder, or add --overwrite to write exotwin's files beside what it holds"
            )
    except OSError as exc:
        raise path_error(exc, target, "cannot read output folder") from None
    return manifest


def _files_below(folder: Path) -> list[str]:
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if not p.is_dir() and p.name != MANIFEST
    )


def _write_manifest(folder: Path, files: list[str]) -> None:
    text = json.dumps({"written_by": "exotwin", "files": sorted(files)}, indent=1) + "\n"
    atomic_write_text(folder / MANIFEST, text)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove_stale_staging(target: Path) -> None:
    """Staging folders of ``target`` left by a process that was killed (SIGKILL, power loss)."""
    for old in target.parent.glob(f".{target.name}{_STAGING}*"):
        pid = old.name.removeprefix(f".{target.name}{_STAGING}").split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def _deferred_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while the body runs (main thread only), then deliver."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda n, _f: caught.append(n))
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        if caught:
            signal.raise_signal(caught[0])


def _clashes(target: Path, new: list[str], old: set[str]) -> list[str]:
    """New files that would replace something in ``target`` that exotwin did not write."""
    found = []
    for name in new:
        path = target / name
        parents = [p.as_posix() for p in PurePosixPath(name).parents if str(p) != "."]
        replaces = (path.exists() or path.is_symlink()) and name not in old
        blocked = any((target / p).is_file() and p not in old for p in parents)
        if path.is_dir() or replaces or blocked:
            found.append(name)
    return found


def _merge(staging: Path, target: Path, old: list[str]) -> None:
    """Move the staged files into the existing ``target``: old manifest files the new
    output does not hold are removed, the others replaced; nothing else is touched."""
    new = _files_below(staging)
    clashes = _clashes(target, new, set(old))
    if clashes:
        raise OutputError(
            f"{target / clashes[0]}: exists and was not written by exotwin; move it away or "
            "choose another output folder"
        )
    with _deferred_signals():
        for name in sorted(set(old) - set(new)):
            (target / name).unlink(missing_ok=True)
            _prune_empty(target / name, target)
        for name in new:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / name, target / name)
        _write_manifest(target, new)


def _prune_empty(path: Path, top: Path) -> None:
    for parent in path.parents:
        if parent == top or top not in parent.parents:
            return
        try:
            parent.rmdir()
        except OSError:
            return


@contextmanager
def output_folder(target: Path | str, overwrite: bool = False) -> Iterator[Path]:
    """Yield a staging folder for the outputs of ``target``; on success they land in
    ``target`` (see the module docstring); on error or interruption nothing changes."""
    target = Path(target)
    check_output_folder(target, overwrite)
    place = Path(os.path.abspath(target))  # "out/.." staged beside the folder it names
    try:
        place.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_staging(place)
        staging = Path(
            tempfile.mkdtemp(prefix=f".{place.name}{_STAGING}{os.getpid()}-", dir=place.parent)
        )
        staging.chmod(0o777 & ~_umask())
    except OSError as exc:
        raise path_error(exc, target, "cannot write output folder") from None
    try:
        try:
            yield staging
            _commit(staging, place, overwrite)
        except OSError as exc:
            if exc.filename is not None and str(staging) not in str(exc.filename):
                raise
            raise path_error(exc, target, "cannot write output folder") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _commit(staging: Path, target: Path, overwrite: bool) -> None:
    old = check_output_folder(target, overwrite)
    if not target.exists() or not any(target.iterdir()):
        _write_manifest(staging, _files_below(staging))
        with _deferred_signals():
            os.replace(staging, target)
        return
    _merge(staging, target, old or [])


# ------------------------------------------------------------ resumable folders


def claim_folder(
    target: Path | str, planned: list[str], overwrite: bool = False, known: Sequence[str] = ()
) -> None:
    """Make ``target`` an exotwin folder that a resumable job fills file by file (each file
    atomically), before the job starts; ``planned`` lists every file it may write, ``known``
    files already there that exotwin is known to have written."""
    target = Path(target)
    if known and check_output_folder(target, overwrite=True) is None:
        _write_manifest(target, [f for f in known if (target / f).exists()])
    old = check_output_folder(target, overwrite) or []
    clashes = _clashes(target, planned, set(old))
    if clashes:
        raise OutputError(
            f"{target / clashes[0]}: exists and was not written by exotwin; move it away or "
            "choose another output folder"
        )
    try:
        target.mkdir(parents=True, exist_ok=True)
        _write_manifest(target, sorted({*old, *planned}))
    except OSError as exc:
        raise path_error(exc, target, "cannot write output folder") from None


def remove_outputs(target: Path | str, files: list[str]) -> None:
    """Remove these files of exotwin's manifest from ``target`` (and folders left empty)."""
    target = Path(target)
    kept = [f for f in read_manifest(target) or [] if f not in files]
    for name in files:
        if _inside(name) and not (target / name).is_dir():
            (target / name).unlink(missing_ok=True)
            _prune_empty(target / name, target)
    _write_manifest(target, kept)
