"""Secrets in connection strings and messages: which keywords may never be in the inventory, and
the allow-list scrubbing of everything a connection string or a driver message reaches.

Refusal is by what a keyword is known or looks to hold (PWD, KeystoreSecret, a ClientKey with
a password, ...). Showing is by allow-list: only the values of keywords known to be harmless
(SAFE_KEYWORDS) are shown; every other value, known or not, is masked. docs/sql-collection.md
lists both.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable

from auditor.connect.odbc import (
    ConnectionStringError,
    display_key,
    format_value,
    normal_key,
    parse_connection_string,
)

MASK = "***"

# Values shown in logs, errors and reports. Everything else is masked.
SAFE_KEYWORDS = frozenset(k.lower() for k in (
    # where and what
    "DRIVER", "DSN", "SERVER", "Servername", "Addr", "Address", "PORT", "DATABASE",
    "APP", "WSID", "UID", "Username", "Language", "Description", "Failover_Partner",
    "FailoverPartner", "ApplicationIntent", "MultiSubnetFailover",
    # TLS and authentication modes (enumerations, never secrets)
    "Encrypt", "Encryption", "SSLmode", "TrustServerCertificate", "HostnameInCertificate",
    "ServerCertificate", "Trusted_Connection", "Authentication", "ColumnEncryption",
    "KeystoreAuthentication", "ServerSPN", "FailoverPartnerSPN", "UseNTLMv2", "REALM",
    "TDS_Version", "ClientCharset", "Client_Charset",
    # timeouts, retries and behaviour switches
    "ConnectTimeout", "Timeout", "ConnectionTimeout", "LoginTimeout", "ConnectRetryCount",
    "ConnectRetryInterval", "KeepAlive", "KeepAliveInterval", "IpAddressPreference",
    "TransparentNetworkIPResolution", "MARS_Connection", "MultipleActiveResultSets",
    "AutoTranslate", "AnsiNPW", "QuotedId", "Regional", "UseFMTONLY", "LongAsMax",
    "GetDataExtensions", "ConcatNullYieldsNull", "Replication", "PacketSize", "TextSize",
    "BoolsAsChar", "ReadOnly",
))

# Documented keywords whose values are not shown (paths, retry rules, identities, secrets):
# named so that a driver message echoing them is masked too.
KNOWN_MASKED = frozenset(k.lower() for k in (
    "PWD", "Password", "KeystoreSecret", "KeystorePrincipalId", "ClientCertificate",
    "ClientKey", "AccessToken", "AttachDBFileName", "FileDSN", "SaveFile", "QueryLog_On",
    "QueryLogFile", "QueryLogTime", "StatsLog_On", "StatsLogFile", "RetryExec", "Net",
    "Network", "DumpFile", "DumpFileAppend", "DebugFlags", "pqopt", "sslpassword",
))

# Keywords that hold a secret by name; and any keyword whose name looks like one.
SECRET_KEYWORDS = frozenset(k.lower() for k in (
    "PWD", "Password", "KeystoreSecret", "AccessToken", "sslpassword", "OldPassword",
    "NewPassword",
))
_SECRET_NAME = re.compile(r"pwd|passw|secret|token|passphrase|credential|apikey|accesskey")
# A password inside a value: ClientKey=file:k.pem,password:x; pqopt={password=x}; APP={a;PWD=x}
_SECRET_IN_VALUE = re.compile(r"(?i)(pwd|passw\w*|secret\w*|token)\s*[:=]")


def is_secret_keyword(key: str) -> bool:
    """Whether a keyword holds a secret by its name (case, spaces and braces ignored)."""
    name = normal_key(key)
    squeezed = re.sub(r"[^a-z0-9]", "", name)
    return name in SECRET_KEYWORDS or bool(_SECRET_NAME.search(squeezed))


def holds_secret(key: str, value: str) -> bool:
    """Whether a keyword=value pair carries a secret, by the keyword or inside the value."""
    return is_secret_keyword(key) or bool(_SECRET_IN_VALUE.search(value))


def refusal(connection: str) -> str | None:
    """Why an inventory connection string is refused (naming the keyword, never the value),
    or None when it may be used."""
    try:
        pairs = parse_connection_string(connection)
    except ConnectionStringError as exc:
        return f"the connection string cannot be parsed: {exc}"
    for key, value in pairs:
        if is_secret_keyword(key):
            return (f"keyword {display_key(key)} holds a secret; a connection string must not: "
                    "give the password through credential: (env, keyring or prompt)")
        if _SECRET_IN_VALUE.search(value):
            return (f"the value of keyword {display_key(key)} holds a password or secret; a "
                    "connection string must not: use credential: (env, keyring or prompt)")
    return None


def mask_connection_string(text: str) -> str:
    """The connection string with only the SAFE_KEYWORDS values shown; an unparseable string
    is not shown at all (it cannot be told what in it is a value)."""
    try:
        pairs = parse_connection_string(text)
    except ConnectionStringError:
        return "(connection string withheld: it cannot be parsed)"
    return "".join(f"{key}={_shown(key, value)};" for key, value in pairs)


def _shown(key: str, value: str) -> str:
    if normal_key(key) in SAFE_KEYWORDS and not holds_secret(key, value):
        return format_value(value)
    return MASK


def secret_forms(password: str | None, username: str | None = None) -> list[str]:
    """Every form a password can take in a message: as is, braced, `}}`-escaped, repr-escaped,
    and the Basic-auth token of username:password."""
    if not password:
        return []
    forms = {password, format_value(password), password.replace("}", "}}"),
             repr(password)[1:-1]}
    if username is not None:
        forms.add(base64.b64encode(f"{username}:{password}".encode()).decode())
    return sorted(forms, key=len, reverse=True)


# `KEY=`, `{KEY}=`, `KEY =`: a keyword of a connection string inside free text
_FRAGMENT = re.compile(r"(?<![A-Za-z0-9_])(\{\s*[A-Za-z_][A-Za-z0-9_ ]*\}|[A-Za-z_][A-Za-z0-9_]*)"
                       r"[ \t]*=[ \t]*")


def scrub_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """A message or log line without secrets: every known secret in any of its forms, then the
    value of every connection-string keyword in it that is not on the allow-list."""
    for secret in secrets:
        for form in secret_forms(secret):
            text = text.replace(form, MASK)
    return _mask_fragments(text)


def _mask_fragments(text: str) -> str:
    out: list[str] = []
    i = 0
    for match in _FRAGMENT.finditer(text):
        if match.start() < i:
            continue  # inside a value already masked
        key = match.group(1)
        name = normal_key(key)
        if name in SAFE_KEYWORDS or not (name in KNOWN_MASKED or is_secret_keyword(key)):
            continue
        end = _value_end(text, match.end())
        out.append(text[i:match.end()] + MASK)
        i = end
    out.append(text[i:])
    return "".join(out)


def _value_end(text: str, start: int) -> int:
    """Where a value in free text ends: its closing brace, else `;`, else the end of the line
    (a value may hold spaces and commas: ClientKey=file:k.pem,password:x)."""
    if text[start:start + 1] == "{":
        i = start + 1
        while i < len(text):
            if text[i] == "}":
                if text[i + 1:i + 2] != "}":
                    return i + 1
                i += 1
            i += 1
        return len(text)
    ends = [p for p in (text.find(c, start) for c in ";\n\r") if p >= 0]
    return min(ends, default=len(text))
