"""Build-once cache directories (the converted encoder, ONNX exports).

A directory is filled beside its final place, hashed into a manifest and renamed into
place, and its hashes are checked before its first use: a killed or corrupted build is
rebuilt, never loaded. Hashing ~500 MB takes a second, too long for every start of a
one-article run, so a successful check records the files' stat fingerprint (size,
mtime, inode) in `VERIFIED`; while the fingerprint is unchanged no process hashes again,
and any rewrite, truncation or replacement of a file changes it and hashes again.
Concurrent builders are safe: whoever renames first wins and the others keep theirs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
VERIFIED = ".verified.json"  # the stat fingerprint when the hashes last matched
STALE_PARTIAL_S = 3600  # a partial build this old belongs to a killed process

log = logging.getLogger(__name__)
_verified: dict[Path, tuple] = {}  # directory -> stat fingerprint when its hashes last matched


def sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _stat_key(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}"


def recalled_sha256(path: Path, memo: Path) -> str:
    """sha256 of `path`: as the JSON file `memo` remembers it under the file's stat
    fingerprint, or hashed (a large source file need not be hashed at every start)."""
    with suppress(OSError, ValueError, TypeError, KeyError):
        return str(json.loads(memo.read_text(encoding="utf-8"))[_stat_key(path)])
    return sha256_file(path)


def remember_sha256(path: Path, memo: Path, digest: str) -> None:
    """Best effort; entries of files that are gone are dropped."""
    with suppress(OSError, ValueError, TypeError):
        known: dict[str, str] = {}
        with suppress(OSError, ValueError):
            known = dict(json.loads(memo.read_text(encoding="utf-8")))
        key = _stat_key(path)
        if known.get(key) == digest:
            return
        known = {k: v for k, v in known.items() if os.path.exists(k.rsplit("|", 3)[0])}
        known[key] = digest
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_name(f"{memo.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known, indent=1), encoding="utf-8")
        os.replace(tmp, memo)


def _fingerprint(directory: Path) -> tuple:
    return tuple(
        (p.name, st.st_size, st.st_mtime_ns, st.st_ino)
        for p in sorted(directory.iterdir())
        if p.name != VERIFIED
        for st in [p.stat()]
    )


def _recorded(directory: Path) -> tuple | None:
    with suppress(OSError, ValueError, TypeError):
        rows = json.loads((directory / VERIFIED).read_text(encoding="utf-8"))
        return tuple(tuple(row) for row in rows)
    return None


def _record(directory: Path, fingerprint: tuple) -> None:
    """Best effort: a read-only shared cache is still verified, by hashing each time."""
    with suppress(OSError):
        tmp = directory / f"{VERIFIED}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(fingerprint), encoding="utf-8")
        os.replace(tmp, directory / VERIFIED)


def verify(directory: Path, required: Iterable[str] = ()) -> bool:
    """Whether every file the manifest lists (and each `required` one) has its sha256
    (checked by hashing once, then by the recorded stat fingerprint)."""
    try:
        fingerprint = _fingerprint(directory)
        if fingerprint in (_verified.get(directory), _recorded(directory)):
            _verified[directory] = fingerprint
            return True
        files = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))["files"]
        ok = set(required) <= set(files) and all(
            sha256_file(directory / name) == digest for name, digest in files.items()
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if ok:
        _verified[directory] = fingerprint
        _record(directory, fingerprint)
    return ok


def remove_dir(path: Path) -> None:
    """Rename first, so no reader ever sees the directory half-deleted."""
    trash = path.with_name(f".{path.name}.{os.getpid()}-{time.time_ns()}.stale")
    try:
        os.replace(path, trash)
    except FileNotFoundError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def build(
    final: Path,
    fill: Callable[[Path], dict[str, Any]],
    required: Iterable[str] = (),
    error: type[Exception] = RuntimeError,
) -> Path:
    """Make `final` by `fill(tmp)`, which writes the files and returns manifest fields."""
    required = tuple(required)
    final.parent.mkdir(parents=True, exist_ok=True)
    for old in final.parent.glob(f".{final.name}.*.partial"):
        with suppress(OSError):
            if time.time() - old.stat().st_mtime > STALE_PARTIAL_S:
                shutil.rmtree(old)
    start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    try:
        fields = fill(tmp)
        files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        manifest = {**fields, "files": files}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        for path in tmp.iterdir():  # mkdtemp is private (0700); a cache may be shared
            path.chmod(0o644)
        tmp.chmod(0o755)
        if verify(final, required):  # another process finished first: keep theirs
            return final
        if final.exists():
            remove_dir(final)  # it failed verification: never load it
        try:
            os.replace(tmp, final)
        except OSError:  # another process put a directory there meanwhile
            if not verify(final, required):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not verify(final, required):
        raise error(f"{final} does not match its manifest right after building it")
    log.info("salatag: built %s in %.1f s", final, time.perf_counter() - start)
    return final
