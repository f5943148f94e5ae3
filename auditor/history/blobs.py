"""Content-addressed blobs: results, evidence bundles, inventories, kept compressed in the store
itself (so a shared PostgreSQL history holds them too), keyed by the SHA-256 of their bytes."""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass

from sqlalchemy import Connection, select

from auditor.history.schema import blobs
from auditor.history.store import HistoryError


@dataclass(frozen=True)
class Packed:
    """A blob hashed and compressed, ready to store: done before the writing transaction,
    so the writer lock is not held while a 2 MB results document is compressed."""

    sha256: str
    size: int
    data: bytes


def pack(data: bytes) -> Packed:
    """Hash `data` once and compress it."""
    return Packed(hashlib.sha256(data).hexdigest(), len(data), zlib.compress(data, 6))


def put_packed(conn: Connection, blob: Packed) -> str:
    """Store a packed blob once (by its SHA-256) and return that hash."""
    known = conn.execute(select(blobs.c.sha256).where(blobs.c.sha256 == blob.sha256)).first()
    if known is None:
        conn.execute(blobs.insert().values(sha256=blob.sha256, size=blob.size,
                                           compression="zlib", data=blob.data))
    return blob.sha256


def put_blob(conn: Connection, data: bytes) -> str:
    """Store `data` once (by its SHA-256) and return that hash."""
    return put_packed(conn, pack(data))


def get_blob(conn: Connection, digest: str) -> bytes:
    """The bytes stored under `digest`, checked against it."""
    row = conn.execute(select(blobs.c.compression, blobs.c.data)
                       .where(blobs.c.sha256 == digest)).first()
    if row is None:
        raise HistoryError(f"history store: blob {digest[:12]} is missing")
    data = zlib.decompress(row.data) if row.compression == "zlib" else bytes(row.data)
    if hashlib.sha256(data).hexdigest() != digest:
        raise HistoryError(f"history store: blob {digest[:12]} is damaged (hash mismatch)")
    return data
