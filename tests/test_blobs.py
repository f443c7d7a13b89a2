"""The filesystem blob store: content addressing, durability layout, races between processes."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from channels.blobs import BlobStore, FsBlobStore


def test_put_get_exists_and_fan_out(tmp_path: Path) -> None:
    store: BlobStore = FsBlobStore(tmp_path / "blobs")
    data = os.urandom(100_000)
    digest = store.put(data)
    assert digest == hashlib.sha256(data).hexdigest()
    path = tmp_path / "blobs" / digest[:2] / digest[2:4] / digest
    assert path.read_bytes() == data
    assert store.exists(digest)
    assert store.get(digest) == data
    with store.open(digest) as blob:
        assert blob.read(10) == data[:10]


def test_same_content_is_stored_once(tmp_path: Path) -> None:
    store = FsBlobStore(tmp_path)
    first = store.put(b"invoice")
    path = store.path(first)
    before = path.stat().st_mtime_ns
    assert store.put(b"invoice") == first
    assert path.stat().st_mtime_ns == before
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [first]


def test_empty_blob(tmp_path: Path) -> None:
    store = FsBlobStore(tmp_path)
    assert store.get(store.put(b"")) == b""


def test_missing_and_malformed_digests(tmp_path: Path) -> None:
    store = FsBlobStore(tmp_path)
    absent = hashlib.sha256(b"never stored").hexdigest()
    assert not store.exists(absent)
    with pytest.raises(KeyError):
        store.get(absent)
    for bad in ("../../etc/passwd", absent.upper(), absent[:-1], absent + "0", ""):
        with pytest.raises(ValueError):
            store.exists(bad)


def write_many(root: str, seed: int, barrier: Barrier) -> None:
    store = FsBlobStore(root)
    barrier.wait()
    for i in range(100):
        store.put(b"shared-%d" % (i % 10) * 5000)
        store.put(b"own-%d-%d" % (seed, i))


def test_processes_racing_on_the_same_blobs(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    workers = [
        context.Process(target=write_many, args=(str(tmp_path), seed, barrier)) for seed in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert not [p for p in files if p.name.startswith(".tmp-")]
    assert len(files) == 10 + 4 * 100
    for path in files:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name
