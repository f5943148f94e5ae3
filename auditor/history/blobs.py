"""Content-addressed blobs: results, evidence bundles, inventories, kept compressed in the store
itself (so a shared PostgreSQL history holds them too), keyed by the SHA-256 of their bytes."""

from __future__ import annotations

import hashlib
import zlib

from sqlalchemy import Connection, select

from auditor.history.schema import blobs
from auditor.history.store import HistoryError


def put_blob(conn: Connection, data: bytes) -> str:
    """Store `data` once (by its SHA-256) and return that hash."""
    digest = hashlib.sha256(data).hexdigest()
    known = conn.execute(select(blobs.c.sha256).where(blobs.c.sha256 == digest)).first()
    if known is None:
        conn.execute(blobs.insert().values(sha256=digest, size=len(data), compression="zlib",
                                           data=zlib.compress(data, 6)))
    return digest


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
