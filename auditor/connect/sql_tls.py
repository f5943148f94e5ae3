"""TLS to SQL Server: the inventory's `tls_trust` as each driver's keywords, and TLS failures
told apart from network ones (status `unreachable`, reason `tls`) with what can be done and what
each way out costs (docs/sql-collection.md "TLS")."""

from __future__ import annotations

import re

from auditor.connect.odbc import ConnectionStringError, Pairs, get_key
from auditor.inventory import SqlInstance, TlsTrust

TLS_REASON = "tls"
"""The reason an `unreachable` observation's error starts with (`tls: ...`) when TLS, not the
network, kept the connection from opening."""


# sql_connect.DriverKind's values (a StrEnum, so its members compare equal to these)
MICROSOFT, FREETDS, PSQLODBC = "microsoft", "freetds", "psqlodbc"

# --- the trust option ---------------------------------------------------------------------

def trust_pairs(driver: str, inst: SqlInstance, pairs: Pairs) -> Pairs:
    """The keywords that make the driver trust what `tls_trust` says, or ConnectionStringError
    when the driver has no keyword for it (the message says what to do instead)."""
    trust = inst.tls_trust
    if trust is None:
        return []
    for keyword in _TRUST_KEYWORDS.get(driver, ()):
        if get_key(pairs, keyword) is not None:
            raise ConnectionStringError(
                f"{keyword}= is in the connection string and tls_trust is set: keep one "
                "(tls_trust is shown in the report)")
    if driver == MICROSOFT:
        return _microsoft(trust, pairs)
    if driver == PSQLODBC:
        return _psqlodbc(trust)
    if driver == FREETDS:
        return _freetds(trust, pairs)
    raise ConnectionStringError("tls_trust needs a driver named with DRIVER={...} (Microsoft "
                                "ODBC Driver, FreeTDS or PostgreSQL)")


_TRUST_KEYWORDS: dict[str, tuple[str, ...]] = {
    MICROSOFT: ("TrustServerCertificate", "ServerCertificate"),
    PSQLODBC: ("pqopt",),
}


def _microsoft(trust: TlsTrust, pairs: Pairs) -> Pairs:
    if trust.any_certificate:
        return [("TrustServerCertificate", "yes")]
    if (get_key(pairs, "Encrypt") or "").lower() == "strict":
        return [("ServerCertificate", str(trust.ca_file))]  # Driver 18.1+, SQL Server 2022+
    raise ConnectionStringError(
        "the Microsoft ODBC drivers take no CA file in the connection string (ServerCertificate= "
        "needs Driver 18.1 and Encrypt=strict, which needs SQL Server 2022): add the CA, or the "
        "server's own certificate, to this machine's trust store (update-ca-certificates) and "
        "drop tls_trust, or use FreeTDS with a freetds.conf `ca file`")


def _psqlodbc(trust: TlsTrust) -> Pairs:
    if trust.any_certificate:
        return []  # SSLmode=require encrypts without checking the certificate
    return [("SSLmode", "verify-full"), ("pqopt", f"sslrootcert={trust.ca_file}")]


def _freetds(trust: TlsTrust, pairs: Pairs) -> Pairs:
    named = get_key(pairs, "Servername") or get_key(pairs, "DSN")
    if trust.any_certificate:
        if named:
            raise ConnectionStringError(
                "FreeTDS 1.3 takes its certificate check from freetds.conf for Servername=/DSN=: "
                "remove `ca file` from that server's section instead of tls_trust: "
                "{any_certificate: true}")
        return []  # with SERVER= FreeTDS 1.3 reads no ca file: no certificate is checked
    raise ConnectionStringError(
        "FreeTDS 1.3 takes a CA file only from freetds.conf: put `ca file = "
        f"{trust.ca_file}` in the server's section and connect with Servername= (drop tls_trust)")


# --- TLS failures -------------------------------------------------------------------------

_CERTIFICATE = re.compile(r"(?i)certificate verify failed|self[- ]signed certificate|"
                          r"unable to get local issuer|certificate (chain|has expired|is not)|"
                          r"hostname mismatch|root certificate")
_TLS = re.compile(
    r"(?i)ssl provider|ssl routines|unsupported protocol|handshake|\btls\b|ssl error|"
    r"ssl negotiation|does not support ssl|ssl was required|encryption (is )?(not supported|"
    r"required)|ssl_choose_client_version|no protocols available|wrong version number")

CERTIFICATE_HINT = (
    "the server's certificate was not trusted (SQL Server presents a self-generated one unless "
    "a certificate was installed): add its CA to this machine's trust store "
    "(update-ca-certificates), or set tls_trust on the instance ({ca_file: PATH} to check it "
    "against that CA or the server's own certificate; {any_certificate: true} to skip the "
    "check, which lets a man in the middle read the audit; docs/sql-collection.md)")
PROTOCOL_HINT = (
    "TLS could not be set up with the server. If the server offers no encryption, "
    "`encrypt: false` on the instance connects without requiring TLS, at the cost of the "
    "audit's queries and results crossing the network readable by anyone on the path. If it "
    "speaks only TLS 1.0/1.1 (SQL Server 2008 R2 or 2012 without the TLS 1.2 update, "
    "Microsoft KB3135244), install that update: `encrypt: false` does not help there, since "
    "SQL Server always encrypts the login. The client-side alternative, letting OpenSSL use "
    "older TLS (an OPENSSL_CONF file with MinProtocol = TLSv1 and CipherString = "
    "DEFAULT@SECLEVEL=0), weakens every TLS connection of the auditing process to protocols "
    "with known attacks.")


# FreeTDS 1.3 says only this when the TLS handshake fails, the certificate is refused, or the
# server offers no encryption while Encryption=require (seen against tests/integration/tdsstub.py);
# a closed port, a timeout and a refused login have their own messages.
_FREETDS_OPAQUE = re.compile(r"(?i)\[FreeTDS\].*unable to connect to data source")
FREETDS_HINT = (
    "FreeTDS gives no reason, but after the server accepted the connection this is TLS in "
    "practice: the server offers no encryption (`encrypt: false` on the instance lets FreeTDS "
    "go on without TLS, at the cost of the audit's queries and results crossing the network "
    "readable), or its certificate failed the `ca file` check of freetds.conf (see tls_trust "
    "in docs/sql-collection.md); TDSDUMP=/tmp/freetds.log in the environment names the cause")


def tls_hint(message: str) -> str | None:
    """What to do about a connect failure that TLS caused, or None when it was not TLS."""
    if _CERTIFICATE.search(message):
        return CERTIFICATE_HINT
    if _FREETDS_OPAQUE.search(message):
        return FREETDS_HINT
    if _TLS.search(message):
        return PROTOCOL_HINT
    return None


def is_tls_error(error: str | None) -> bool:
    """Whether an observation's error carries the `tls` reason."""
    return bool(error) and str(error).startswith(f"{TLS_REASON}: ")
