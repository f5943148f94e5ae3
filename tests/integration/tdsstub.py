"""A SQL Server stand-in that speaks TDS only as far as the TLS handshake.

It answers the client's PRELOGIN with "encryption on", then runs the server side of the TLS
handshake carried inside TDS packets (as SQL Server does) with the given certificate, and
records how it ended: `accepted` when the client finished the handshake (it trusted the
certificate), `refused` when the client gave up during it. It also records what the client
asked for in PRELOGIN (`encryption`) and, once the handshake is done, the TDS version of the
LOGIN7 packet it sent inside TLS (`tds_version`). It never logs anyone in.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
import warnings
from pathlib import Path

from auditor.lab.notls import read_exactly

PRELOGIN, REPLY, LOGIN7 = 0x12, 0x04, 0x10
ENCRYPT_OFF, ENCRYPT_ON, ENCRYPT_NOT_SUP, ENCRYPT_REQ = 0x00, 0x01, 0x02, 0x03
SQL_2008_R2 = bytes([10, 50, 0x06, 0x40, 0, 0])  # 10.50.1600


def _packet(kind: int, payload: bytes) -> bytes:
    return struct.pack(">BBHHBB", kind, 0x01, 8 + len(payload), 0, 1, 0) + payload


def _prelogin_reply(encryption: int = ENCRYPT_ON) -> bytes:
    options = struct.pack(">BHH", 0x00, 11, 6) + struct.pack(">BHH", 0x01, 17, 1) + b"\xff"
    return _packet(REPLY, options + SQL_2008_R2 + bytes([encryption]))


class TdsTlsStub:
    """One connection on 127.0.0.1, served in a thread; `outcome` says how the handshake went."""

    def __init__(self, cert: Path, key: Path, *, tls_1_0_only: bool = False,
                 encryption: int = ENCRYPT_ON) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.maximum_version = ssl.TLSVersion.TLSv1_2  # as SQL Server 2008 R2 to 2019
        if tls_1_0_only:  # a 2008 R2 / 2012 without the TLS 1.2 update
            self.context.set_ciphers("DEFAULT@SECLEVEL=0")
            with warnings.catch_warnings():  # deprecated: the point of this stand-in
                warnings.simplefilter("ignore", DeprecationWarning)
                self.context.minimum_version = ssl.TLSVersion.TLSv1
                self.context.maximum_version = ssl.TLSVersion.TLSv1
        self.reply_encryption = encryption  # ENCRYPT_NOT_SUP: a server that offers no TLS
        self.context.load_cert_chain(cert, key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.outcome = "no connection"
        self.encryption: int | None = None
        self.tds_version: int | None = None
        self.tls_version: str | None = None  # as negotiated
        self.database: str | None = None  # LOGIN7's database
        self.clear_login = False  # LOGIN7 sent without TLS (to a server offering none)
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> TdsTlsStub:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.listener.close()
        self.thread.join(timeout=10)

    def _serve(self) -> None:
        self.listener.settimeout(10)
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(10)
            self.outcome = "no prelogin"
            prelogin = self._read_packet(conn)
            if prelogin is None:
                return
            self.encryption = _option(prelogin, 0x01)
            conn.sendall(_prelogin_reply(self.reply_encryption))
            if self.reply_encryption == ENCRYPT_NOT_SUP:
                self.outcome = "no encryption offered"
                header = read_exactly(conn, 8)  # a client that goes on sends LOGIN7 in clear
                self.clear_login = header is not None and header[0] == LOGIN7
                return
            self.outcome = self._handshake(conn)

    def _handshake(self, conn: socket.socket) -> str:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = self.context.wrap_bio(incoming, outgoing, server_side=True)
        while True:
            try:
                tls.do_handshake()
                self.tls_version = tls.version()
                conn.sendall(_packet(PRELOGIN, outgoing.read()))
                self.tds_version, self.database = _login7(conn, tls, incoming)
                return "accepted"
            except ssl.SSLWantReadError:
                pending = outgoing.read()
                if pending:
                    conn.sendall(_packet(PRELOGIN, pending))
            except ssl.SSLError as exc:  # the client's alert, e.g. unknown CA
                return f"refused ({exc.reason})"
            payload = self._read_packet(conn)
            if payload is None:
                return "refused (connection closed)"
            incoming.write(payload)

    @staticmethod
    def _read_packet(conn: socket.socket) -> bytes | None:
        header = read_exactly(conn, 8)
        if header is None:
            return None
        length = struct.unpack(">H", header[2:4])[0]
        return read_exactly(conn, length - 8)


def _option(prelogin: bytes, token: int) -> int | None:
    """The first byte of a PRELOGIN option (token, offset, length entries up to 0xFF)."""
    at = 0
    while at < len(prelogin) and prelogin[at] != 0xFF:
        kind, offset, length = struct.unpack(">BHH", prelogin[at:at + 5])
        if kind == token and length:
            return int(prelogin[int(offset)])
        at += 5
    return None


def _login7(conn: socket.socket, tls: ssl.SSLObject,
            incoming: ssl.MemoryBIO) -> tuple[int | None, str | None]:
    """After the handshake the client sends LOGIN7 in TLS records straight on the socket:
    its TDS version and the database it asks for (ibDatabase/cchDatabase, UTF-16LE)."""
    plain = b""
    while len(plain) < 8 or len(plain) < struct.unpack(">H", plain[2:4])[0]:
        try:
            plain += tls.read()
        except ssl.SSLWantReadError:
            try:
                chunk = conn.recv(65536)
            except OSError:
                return None, None
            if not chunk:
                return None, None
            incoming.write(chunk)
    if plain[0] != LOGIN7:
        return None, None
    body = plain[8:]
    offset, chars = struct.unpack("<HH", body[68:72])
    database = body[offset:offset + 2 * chars].decode("utf-16-le")
    return int(struct.unpack("<I", body[4:8])[0]), database
