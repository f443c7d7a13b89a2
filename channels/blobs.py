"""Attachment bytes outside Redis: a content-addressed store behind a small interface.

Redis keeps only the SHA-256 of each blob. `FsBlobStore` is the default; a shared store for
multi-host deployments (S3-compatible) implements the same `BlobStore` protocol in its own
module. Calls block (fsync): async callers run them in a thread.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

_DIGEST = re.compile(r"[0-9a-f]{64}")


class BlobStore(Protocol):
    def put(self, data: bytes) -> str:
        """Store `data` durably; returns its SHA-256 hex digest. Storing it again is a no-op."""
        ...

    def get(self, digest: str) -> bytes:
        """The blob's bytes; KeyError when absent."""
        ...

    def open(self, digest: str) -> BinaryIO:
        """The blob as a binary file for streaming; KeyError when absent."""
        ...

    def exists(self, digest: str) -> bool: ...


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_digest(digest: str) -> str:
    """The digest if it is 64 lowercase hex digits, else ValueError (it becomes a path)."""
    if not _DIGEST.fullmatch(digest):
        raise ValueError("a blob digest is 64 lowercase hex digits")
    return digest


class FsBlobStore:
    """Blobs as files `root/ab/cd/abcd…`, durable when `put` returns.

    Each blob is written to a temporary file in its final directory, fsynced, renamed into
    place and the directory fsynced, so a crash leaves either no blob or the whole blob.
    Writers racing on one blob rename identical bytes over each other, which is harmless.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, digest: str) -> Path:
        check_digest(digest)
        return self.root / digest[:2] / digest[2:4] / digest

    def put(self, data: bytes) -> str:
        digest = digest_of(data)
        final = self.path(digest)
        if final.exists():
            return digest
        self._make_dirs(final.parent)
        fd, temp = tempfile.mkstemp(dir=final.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, final)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        _fsync_dir(final.parent)
        return digest

    def get(self, digest: str) -> bytes:
        with self.open(digest) as blob:
            return blob.read()

    def open(self, digest: str) -> BinaryIO:
        try:
            return self.path(digest).open("rb")
        except FileNotFoundError:
            raise KeyError(digest) from None

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def _make_dirs(self, directory: Path) -> None:
        """Create the fan-out directories, fsyncing each parent whose entries changed."""
        missing = [d for d in (directory.parent, directory) if not d.is_dir()]
        for new in missing:
            new.mkdir(parents=True, exist_ok=True)
            _fsync_dir(new.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
