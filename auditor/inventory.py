"""The estate to audit: sites, pools, servers, SQL instances, shares and policy (YAML)."""

from __future__ import annotations

import hashlib
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from auditor.connect.secrets import refusal
from auditor.errors import InputError, in_line_order, raise_all, reads_input
from auditor.limits import Id, Name, PathText, Text
from auditor.stores import expand_stores, unknown_store
from auditor.validation import field_places
from auditor.yamlio import LineMap, dotted, line_of, load_yaml, validate

Fqdn = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$",
                                        max_length=253)]
ServerName = Annotated[str, StringConstraints(
    pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*(\\[A-Za-z0-9_$#-]+)?$", max_length=256)]
UncPath = Annotated[str, StringConstraints(pattern=r"^\\\\[^\\]+\\.+", max_length=260)]
TimeOfDay = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]

def _store_name(name: str) -> str:
    refused = unknown_store(name)
    if refused:
        raise PydanticCustomError("unknown_store", refused)
    return name


# A database name or a Topology Builder store kind (auditor.stores, docs/inventory.md).
StoreName = Annotated[Id, AfterValidator(_store_name)]


class Model(BaseModel):
    """Strict, closed models: unknown keys and wrong types are errors."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class InstanceRole(StrEnum):
    """The part a SQL instance plays (rules.md "Subjects")."""

    BACK_END = "back_end"
    MONITORING = "monitoring"
    ARCHIVING = "archiving"
    PERSISTENT_CHAT = "persistent_chat"
    MIRROR = "mirror"
    FRONT_END_LOCAL = "front_end_local"
    RESTORE_TEST = "restore_test"


class CredentialKind(StrEnum):
    """Where a password comes from; never from the inventory itself."""

    ENV = "env"
    KEYRING = "keyring"
    PROMPT = "prompt"
    INTEGRATED = "integrated"
    FILE = "file"  # systemd's credentials folder (LoadCredential=), or an owner-only file


UNATTENDED_KINDS = (CredentialKind.ENV, CredentialKind.FILE, CredentialKind.INTEGRATED)


class Credential(Model):
    """A reference to a secret: an environment variable, a keyring entry or a prompt."""

    kind: Annotated[CredentialKind, Field(strict=False)]
    username: Name | None = None
    name: Name | None = Field(default=None, description="env variable, keyring service name, or "
                                                        "credential file name")

    @model_validator(mode="after")
    def _name_needed(self) -> Self:
        if self.kind in (CredentialKind.ENV, CredentialKind.KEYRING,
                         CredentialKind.FILE) and not self.name:
            raise ValueError(f"credential of kind {self.kind.value} needs a name")
        return self


class BackupWindow(Model):
    """Low-usage hours, on the server's local clock; may wrap midnight."""

    start: TimeOfDay
    end: TimeOfDay


def _window_field(place: str) -> Any:
    return Field(default=None, description=f"this {place}'s backup window: shorthand for a "
                 f"policy.overrides entry naming the {place} with this backup_window "
                 "(docs/inventory.md)")


class Site(Model):
    """A Lync site (central site)."""

    id: Id
    name: Name | None = None
    backup_window: BackupWindow | None = _window_field("site")


class Pool(Model):
    """A Front End (or other) pool."""

    fqdn: Fqdn
    site: Id
    business_critical: bool = False
    backup_pool: Fqdn | None = None
    backup_window: BackupWindow | None = _window_field("pool")


class Server(Model):
    """A Lync server, or any other audited computer."""

    fqdn: Fqdn
    role: Name
    model: Name | None = None
    pool: Fqdn | None = None
    site: Id | None = None


class TlsTrust(Model):
    """How to trust a server's TLS certificate that the system's CAs do not vouch for
    (docs/sql-collection.md "TLS"); shown in the report's scope."""

    ca_file: PathText | None = Field(default=None, description="validate the server's "
                                     "certificate against this CA (or the server's own, "
                                     "self-signed, certificate)")
    any_certificate: bool = Field(default=False, description="encrypt without validating the "
                                  "certificate (TrustServerCertificate=yes): a man in the "
                                  "middle could read the audit")

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.ca_file is None) != self.any_certificate:
            raise ValueError("tls_trust takes one of ca_file: PATH or any_certificate: true")
        return self

    def describe(self) -> str:
        """How the certificate is checked, for the report's scope and preflight."""
        if self.any_certificate:
            return "certificate NOT checked (tls_trust: any_certificate)"
        return f"certificate checked against {self.ca_file} (tls_trust: ca_file)"


class SqlInstance(Model):
    """A SQL Server instance holding Lync stores."""

    server_name: ServerName
    host: Fqdn
    role: Annotated[InstanceRole, Field(strict=False)]
    site: Id | None = None
    pool: Fqdn | None = None
    stores: list[StoreName] = Field(default_factory=list, description="the Lync stores it "
                                    "holds: database names or Topology Builder store kinds, "
                                    "each kind expanded to its databases (docs/inventory.md)")
    connection: Text | None = Field(default=None, description="ODBC connection string to msdb, "
                                   "without a password")
    credential: Credential | None = None
    remediation_credential: Credential | None = Field(
        default=None, description="the login `auditor remediate apply` uses (the audit account "
        "stays read-only); the audit credential when absent")
    encrypt: bool = Field(default=True, description="TLS to the server; false is an explicit "
                          "opt-out for old servers and is shown in the report")
    tls_trust: TlsTrust | None = None
    login_timeout_seconds: Annotated[int, Field(ge=1, le=300)] = 15
    query_timeout_seconds: Annotated[int, Field(ge=1, le=3600)] = 120
    backup_window: BackupWindow | None = _window_field("instance")

    @field_validator("stores")
    @classmethod
    def _expand(cls, value: list[str]) -> list[str]:
        return expand_stores(value)

    @field_validator("connection")
    @classmethod
    def _no_secret(cls, value: str | None) -> str | None:
        refused = refusal(value) if value else None
        if refused:
            raise ValueError(refused)  # names the keyword, never the value
        return value

    @model_validator(mode="after")
    def _checks(self) -> Self:
        if self.tls_trust is not None and not self.encrypt:
            raise ValueError("tls_trust applies only with encrypt: true (it says how the TLS "
                             "certificate is trusted)")
        return self


class BackupDestination(Model):
    """Where SQL backups are written (a UNC share or a URL)."""

    path: PathText
    host: Fqdn | None = None
    site: Id | None = None
    encrypted: bool = False


class ExportShare(Model):
    """The share holding Export-CsConfiguration and the other Lync exports."""

    unc: UncPath
    host: Fqdn | None = None


RuleParams = dict[str, dict[str, Any]]


class PolicyOverride(Model):
    """Thresholds for one scope; the most specific scope wins."""

    site: Id | None = None
    pool: Fqdn | None = None
    instance: ServerName | None = None
    database: PathText | None = Field(default=None, description="HOST\\INSTANCE/db")
    rules: RuleParams = Field(default_factory=dict)
    backup_window: BackupWindow | None = None

    @model_validator(mode="after")
    def _one_scope(self) -> Self:
        scopes = [s for s in (self.site, self.pool, self.instance, self.database) if s]
        if len(scopes) != 1:
            raise ValueError("an override names exactly one of site, pool, instance, database")
        return self


class Policy(Model):
    """Estate defaults and overrides of rule thresholds."""

    rules: RuleParams = Field(default_factory=dict)
    backup_window: BackupWindow | None = None
    overrides: list[PolicyOverride] = Field(default_factory=list)


class LyncTransport(StrEnum):
    """WinRM transport."""

    HTTPS = "https"
    HTTP = "http"


class LyncAuth(StrEnum):
    """WinRM authentication."""

    NEGOTIATE = "negotiate"
    KERBEROS = "kerberos"
    NTLM = "ntlm"
    CREDSSP = "credssp"
    BASIC = "basic"


class LyncAccess(Model):
    """How to reach the Lync servers over PowerShell remoting (WinRM)."""

    management_servers: list[Fqdn] = Field(min_length=1, description="servers with the Lync "
                                           "Management Shell that run deployment and pool probes; "
                                           "the first reachable one is used")
    transport: Annotated[LyncTransport, Field(strict=False)] = LyncTransport.HTTPS
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    auth: Annotated[LyncAuth, Field(strict=False)] = LyncAuth.NEGOTIATE
    ca_bundle: PathText | None = Field(default=None, description="CA file to validate the WinRM "
                                  "certificate; the system store when absent")
    allow_basic_over_http: bool = Field(default=False, description="explicit opt-in, shown in "
                                        "the report")
    credential: Credential | None = None
    remediation_credential: Credential | None = Field(
        default=None, description="the account `auditor remediate apply` runs the Export-Cs* "
        "and Invoke-CsBackupServiceSync cmdlets with (the audit account stays read-only); the "
        "audit credential when absent")
    command_timeout_seconds: Annotated[int, Field(ge=1, le=3600)] = 120
    connect_timeout_seconds: Annotated[int, Field(ge=1, le=300)] = 15

    @model_validator(mode="after")
    def _basic_needs_consent(self) -> Self:
        if (self.auth is LyncAuth.BASIC and self.transport is LyncTransport.HTTP
                and not self.allow_basic_over_http):
            raise ValueError("basic authentication over http sends the password in clear text; "
                             "use https or set allow_basic_over_http: true")
        return self


class Estate(Model):
    """Who and what this inventory describes."""

    id: Annotated[str | None, Field(
        default=None, pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$",
        description="stable estate id (lower-case letters, digits, '.', '_', '-'): evidence, "
                    "results and the audit history are keyed on it, so it must not change "
                    "when the display name does. Optional in inventory version 1 (migration): "
                    "without it the estate is known by its name")] = None
    name: Name
    description: Text | None = None
    audit_account: Name | None = None


MailAddress = Annotated[str, StringConstraints(pattern=r"^[^@\s<>]+@[^@\s<>]+$", max_length=254)]


class SmtpSecurity(StrEnum):
    """How the SMTP connection is protected; the server certificate is always validated."""

    STARTTLS = "starttls"
    TLS = "tls"  # implicit TLS (SMTPS, usually port 465)


class Delivery(Model):
    """Where unattended audits mail their report (auditor audit --mail-to)."""

    host: Fqdn
    port: Annotated[int, Field(ge=1, le=65535)] | None = Field(
        default=None, description="587 for starttls, 465 for tls when absent")
    security: Annotated[SmtpSecurity, Field(strict=False)] = SmtpSecurity.STARTTLS
    ca_file: PathText | None = Field(default=None, description="CA file to validate the SMTP "
                                     "server's certificate; the system store when absent")
    sender: MailAddress
    to: list[MailAddress] = Field(default_factory=list, description="default recipients")
    credential: Credential | None = Field(default=None, description="AUTH login; none: no AUTH")
    attempts: Annotated[int, Field(ge=1, le=10)] = 3
    timeout_seconds: Annotated[int, Field(ge=1, le=300)] = 30


class HistorySettings(Model):
    """Where `auditor audit` records its history (docs/history.md): a store URL without a
    password, and the credential its password comes from."""

    url: Annotated[str, Field(min_length=1, max_length=2000)]
    credential: Credential | None = None


class Inventory(Model):
    """The whole estate. The inventory is authoritative for which stores exist."""

    version: Annotated[int, Field(ge=1, le=1)] = 1
    estate: Estate
    sites: list[Site] = Field(default_factory=list)
    pools: list[Pool] = Field(default_factory=list)
    servers: list[Server] = Field(default_factory=list)
    sql_instances: list[SqlInstance] = Field(default_factory=list)
    backup_destinations: list[BackupDestination] = Field(default_factory=list)
    export_share: ExportShare | None = None
    lync: LyncAccess | None = None
    policy: Policy = Field(default_factory=Policy)
    waivers: PathText | None = Field(default=None, description="waivers file, relative to "
                                     "this file")
    records: PathText | None = Field(default=None, description="records file or folder")
    delivery: Delivery | None = None
    history: HistorySettings | None = Field(default=None, description="the audit history "
                                            "store (default: a SQLite file per user)")

    def site_of_pool(self, fqdn: str | None) -> str | None:
        """The site a pool belongs to."""
        for pool in self.pools:
            if fqdn and pool.fqdn.lower() == fqdn.lower():
                return pool.site
        return None


class LoadedInventory(BaseModel):
    """An inventory with where it came from and its hash."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    inventory: Inventory
    path: Path
    sha256: str
    lines: dict[tuple[str | int, ...], int] = Field(default_factory=dict, repr=False)

    def relative(self, name: str) -> Path:
        """A path named in the inventory, relative to the inventory file (as written when it
        cannot be resolved, e.g. in a symbolic link loop: reading it then says why)."""
        joined = self.path.parent / name
        try:
            return joined.resolve()
        except (OSError, RuntimeError):  # RuntimeError: a symbolic link loop (Python < 3.13)
            return joined.absolute()


@reads_input
def load_inventory(path: Path) -> LoadedInventory:
    """Read, validate and cross-check an inventory file; every error of the file is reported."""
    data, lines = load_yaml(path)
    if not isinstance(data, dict):
        raise InputError(path, "the inventory must be a mapping", line=1)
    # An unknown field says where that field belongs (a window under servers[], pools nested
    # under sites[]...): the places come from the models themselves, so they stay true.
    inventory = validate(Inventory, data, path, lines, places=field_places(Inventory))
    raise_all(in_line_order(_cross_check(inventory, path, lines)))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return LoadedInventory(inventory=inventory, path=path, sha256=digest, lines=lines)


def _fail(path: Path, lines: LineMap, loc: tuple[str | int, ...], message: str) -> InputError:
    return InputError(path, message, line=line_of(lines, loc), field=dotted(loc))


def _cross_check(inv: Inventory, path: Path, lines: LineMap) -> list[InputError]:
    """Duplicate ids and references to things that are not in the inventory."""
    errors = [
        *_unique(path, lines, "sites", [s.id for s in inv.sites], "id"),
        *_unique(path, lines, "pools", [p.fqdn.lower() for p in inv.pools], "fqdn"),
        *_unique(path, lines, "servers", [s.fqdn.lower() for s in inv.servers], "fqdn"),
        *_unique(path, lines, "sql_instances",
                 [s.server_name.lower() for s in inv.sql_instances], "server_name")]
    sites = {s.id for s in inv.sites}
    pools = {p.fqdn.lower() for p in inv.pools}
    for i, pool in enumerate(inv.pools):
        if pool.site not in sites:
            errors.append(_fail(path, lines, ("pools", i, "site"), f"unknown site {pool.site!r}"))
        if pool.backup_pool and pool.backup_pool.lower() not in pools:
            errors.append(_fail(path, lines, ("pools", i, "backup_pool"),
                                f"unknown pool {pool.backup_pool!r}"))
    for i, inst in enumerate(inv.sql_instances):
        if inst.site and inst.site not in sites:
            errors.append(_fail(path, lines, ("sql_instances", i, "site"),
                                f"unknown site {inst.site!r}"))
        if inst.pool and inst.pool.lower() not in pools:
            errors.append(_fail(path, lines, ("sql_instances", i, "pool"),
                                f"unknown pool {inst.pool!r}"))
    for i, server in enumerate(inv.servers):
        if server.pool and server.pool.lower() not in pools:
            errors.append(_fail(path, lines, ("servers", i, "pool"),
                                f"unknown pool {server.pool!r}"))
    return errors


def _unique(path: Path, lines: LineMap, section: str, keys: list[str],
            field: str) -> list[InputError]:
    seen: set[str] = set()
    errors = []
    for i, key in enumerate(keys):
        if key in seen:
            errors.append(_fail(path, lines, (section, i, field), f"duplicate {field} {key!r}"))
        seen.add(key)
    return errors
