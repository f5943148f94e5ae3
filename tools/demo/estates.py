"""The three demo estates of fixtures/demo/, as descriptions (README.md of each tells the story).

Every estate has the same shape, so their verdicts can be compared:
- two sites: BNE (Brisbane, UTC+10, no daylight saving) and CHI (Chicago, UTC-6 since
  2026-11-01, UTC-5 before), each with one Front End pool;
- SQLBNE01\\RTC, the Back End of the Brisbane pool, which holds the Central Management store;
- SQLCHI01\\RTC, the Back End of the Chicago pool, mirrored to SQLCHI02\\RTC;
- SQLMON01\\LYNCMON, the Monitoring store in Chicago (with the SSRS databases beside it);
- FE-BNE01\\RTCLOCAL, a Front End's local SQL Express instance;
- RESTORE01\\TEST, the instance restore tests are done on (healthy and drifted only);
- three Lync servers (two Front Ends and an Edge), two backup shares and an export share.

Evidence is collected on 2026-11-23 at 20:00 UTC: 06:00 on Tuesday 24 November in Brisbane,
14:00 on Monday 23 November in Chicago.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from auditor.evidence import ObservationStatus
from tools.demo.builder import (
    FULL_CONTROL,
    GB,
    GENERIC_ALL,
    MB,
    MODIFY,
    READ_EXECUTE,
    TB,
    BackupSet,
    Job,
    LyncProbe,
    Operator,
    SqlServer,
    Step,
    Zone,
    ace,
    at,
    backup_files,
    backup_service,
    cs_computer,
    cs_pool,
    daily,
    days,
    export_file,
    files,
    guid,
    housekeeping_job,
    jitter,
    last_full,
    local,
    ola_step,
    probe,
    replica,
    run_hourly_logs,
    run_nightly,
    seconds_for,
    server_inventory,
    share_file,
    system_databases,
    utc,
    volume,
    weekly,
)

COLLECTED_AT = utc(2026, 11, 23, 20, 0, 0)
H = dt.timedelta(hours=1)
BRISBANE = Zone("Australia/Brisbane", dt.timedelta(hours=10))
CHICAGO = Zone("America/Chicago", dt.timedelta(hours=-6),
               ((utc(2026, 3, 8, 8), dt.timedelta(hours=-5)),
                (utc(2026, 11, 1, 7), dt.timedelta(hours=-6))))
BNE_NOW = BRISBANE.local(COLLECTED_AT)  # 2026-11-24 06:00
CHI_NOW = CHICAGO.local(COLLECTED_AT)  # 2026-11-23 14:00

LYNC_PRODUCTS = ("Microsoft Lync Server 2013, Core Components",
                 "Microsoft Lync Server 2013, Front End Server")
EDGE_PRODUCT = "Microsoft Lync Server 2013, Edge Server"
WS2012R2 = ("Microsoft Windows Server 2012 R2 Standard", "6.3.9600")
# The services of a Lync 2013 Enterprise Edition Front End pool (Mediation collocated); the
# pool whose Back End holds the CMS also runs the Central Management service.
FRONT_END_ROLES = ("UserServer", "Registrar", "WebServer", "ConferencingServer",
                   "ApplicationServer", "MediationServer")
CDR_SESSIONS = [410, 180, 90, 60, 30, 20, 15, 25, 60, 140, 260, 380,
                520, 610, 1450, 2380, 2910, 3120, 2990, 2760, 2540, 2210, 1640, 930]


def topology(domain: str, databases: dict[str, tuple[str, tuple[str, ...]]],
             pool_servers: dict[str, list[str]]) -> list[LyncProbe]:
    """Get-CsPool and Get-CsComputer of an estate: the two Front End pools (lyncbne, with the
    CMS, and lyncchi) with their Front Ends as given, the Edge in a pool of its own, and one
    pool per SQL Server store (host -> site and database roles, as Get-CsService reports them).
    Every computer, SQL hosts included, is in some pool."""
    fe_pools = {f"lyncbne.{domain}": ("BNE", (*FRONT_END_ROLES, "CentralManagement")),
                f"lyncchi.{domain}": ("CHI", FRONT_END_ROLES)}
    edge = f"edge-bne01.{domain}"
    pools = [cs_pool(fqdn, site, roles, pool_servers[fqdn])
             for fqdn, (site, roles) in fe_pools.items()]
    pools.append(cs_pool(edge, "BNE", ("EdgeServer",), [edge]))
    pools += [cs_pool(host, site, roles, [host]) for host, (site, roles) in databases.items()]
    computers = [cs_computer(c, str(p["Fqdn"])) for p in pools for c in p["Computers"]]
    return [probe("cs_pools", "deployment", pools), probe("cs_computers", "deployment", computers)]


@dataclass
class Estate:
    """One demo estate: its SQL instances and its Lync/Windows probe results."""

    name: str
    sql: list[SqlServer]
    lync: list[LyncProbe] = field(default_factory=list)


# --- the well-run estates: Northwind Traders (healthy) and Fabrikam (drifted) --------------------

def healthy() -> Estate:
    """Northwind Traders: every practice followed, every piece of evidence fresh."""
    return _well_run(domain="nwtraders.com", netbios="NWTRADERS", drift=False)


def drifted() -> Estate:
    """Fabrikam: the same well-built estate as Northwind, after a few weeks of small changes."""
    return _well_run(domain="fabrikam.com", netbios="FABRIKAM", drift=True)


def _well_run(domain: str, netbios: str, drift: bool) -> Estate:
    """Northwind (drift=False) and Fabrikam (drift=True) share the estate; drift adds the
    changes each README lists, and nothing else."""
    bne_share = f"\\\\bnebak01.{domain}\\sqlbackup"
    chi_share = f"\\\\chibak01.{domain}\\sqlbackup"
    export_share = f"\\\\bnebak01.{domain}\\lyncexports"
    dba = Operator(1, "DBA Team", f"dba@{domain}")

    # SQLBNE01\RTC: Back End of lyncbne, CMS. SQL Server 2014 SP2, encrypted backups.
    bne = SqlServer("SQLBNE01\\RTC", BRISBANE, collected_at=COLLECTED_AT,
                    product_version="12.0.5000.0", product_level="SP2",
                    edition="Enterprise Edition (64-bit)", history_kept_days=14, first_set_id=48211,
                    role="back_end")
    c_bne = volume("C:\\", "bne-c", 299 * GB, 180 * GB)
    d_bne = volume("D:\\", "bne-d", 1 * TB, 610 * GB)
    l_bne = volume("L:\\", "bne-l", 400 * GB, 350 * GB)
    sysdir = "C:\\Program Files\\Microsoft SQL Server\\MSSQL12.RTC\\MSSQL\\DATA"
    system_databases(bne, (c_bne, sysdir), (c_bne, sysdir))
    bne_sizes = [("lis", 12 * MB), ("rgsconfig", 64 * MB), ("rtcab", 900 * MB),
                 ("rtcdyn", 150 * MB), ("rtcshared", 420 * MB), ("rtcxds", 3200 * MB),
                 ("xds", 180 * MB)]
    for name, database_id in (("xds", 5), ("lis", 6), ("rtcxds", 7), ("rtcshared", 8),
                              ("rgsconfig", 9), ("rtcdyn", 10), ("rtcab", 11)):
        recovery = "FULL" if name == "rtcxds" or (drift and name == "xds") else "SIMPLE"
        bne.database(name, database_id, recovery,
                     files=files(name, (d_bne, "D:\\SQLData"), (l_bne, "L:\\SQLLogs")))
    housekeeping_job(bne, dba)
    full_job = bne.job("DatabaseBackup - USER_DATABASES - FULL",
                       [ola_step("USER_DATABASES", bne_share, "FULL", cleanup_hours=96,
                                 encrypt=True)],
                       [daily(11, "Nightly 01:00", dt.time(1, 0))], operator=dba)
    log_job = bne.job("DatabaseBackup - USER_DATABASES - LOG",
                      [ola_step("rtcxds" if drift else "USER_DATABASES", bne_share, "LOG",
                                cleanup_hours=96, encrypt=True)],
                      [daily(12, "Hourly at :15", dt.time(0, 15), every_hours=1)], operator=dba)
    sys_job = bne.job("DatabaseBackup - SYSTEM_DATABASES - FULL",
                      [ola_step("SYSTEM_DATABASES", bne_share, "FULL", cleanup_hours=96,
                                encrypt=True)],
                      [daily(13, "Nightly 00:30", dt.time(0, 30))], operator=dba)
    first = dt.date(2026, 11, 1)
    run_nightly(bne, sys_job, [("master", 5 * MB), ("model", 3 * MB), ("msdb", 260 * MB)],
                first, dt.time(0, 30), "D", destination=bne_share, encrypted=True,
                unknown_zone=True)

    def bne_skip(day: dt.date, name: str) -> bool:
        return drift and name == "rgsconfig" and day == dt.date(2026, 11, 24)

    def bne_failed(day: dt.date) -> str | None:
        if drift and day == dt.date(2026, 11, 24):
            return ("The job failed.  The Job was invoked by Schedule 11 (Nightly 01:00).  The "
                    "last step to run was step 1 (DatabaseBackup - USER_DATABASES - FULL).  "
                    "Msg 3201: Cannot open backup device '\\\\bnebak01.fabrikam.com\\sqlbackup"
                    "\\SQLBNE01$RTC\\rgsconfig\\FULL\\SQLBNE01$RTC_rgsconfig_FULL_20261124_"
                    "010009.bak'. Operating system error 3 (The system cannot find the path "
                    "specified.).")
        return None

    run_nightly(bne, full_job, bne_sizes, first, dt.time(1, 0), "D", destination=bne_share,
                growth_per_day={"rtcxds": 6 * MB}, skip=bne_skip, failed=bne_failed,
                encrypted=True)
    if drift:
        # xds went from SIMPLE to FULL recovery on 2026-11-20 at 10:00 (for a mirroring
        # project); the fulls before that record SIMPLE.
        for b in bne.backups:
            if b.database == "xds" and b.start < local(2026, 11, 20, 10, 0):
                b.recovery_model = "SIMPLE"
        # the ad-hoc copy a DBA took before a schema change, to the server's own D: drive
        bne.backup("rtcshared", "D", local(2026, 11, 22, 23, 30, 4), seconds=9,
                   size=420 * MB, device_path="D:\\Temp\\rtcshared_before_schema_change.bak",
                   copy_only=True, checksums=False, compression=1.0)
    run_hourly_logs(bne, log_job, ["rtcxds"], local(2026, 11, 1, 1, 15), 15,
                    destination=bne_share, encrypted=True)
    bne.suspect_page("rtcab", 88412, 5, local(2026, 6, 3, 2, 14, 51), error_count=1)
    bne.finish()

    # SQLCHI01\RTC: Back End of lyncchi, principal of the mirror pair with SQLCHI02\RTC.
    chi1 = SqlServer("SQLCHI01\\RTC", CHICAGO, collected_at=COLLECTED_AT,
                     product_version="11.0.6020.0", product_level="SP3",
                     edition="Enterprise Edition (64-bit)", history_kept_days=14,
                     first_set_id=30977, role="back_end")
    chi2 = SqlServer("SQLCHI02\\RTC", CHICAGO, collected_at=COLLECTED_AT,
                     product_version="11.0.6020.0", product_level="SP3",
                     edition="Enterprise Edition (64-bit)", history_kept_days=14, first_set_id=8410,
                     role="mirror")
    chi_sizes = [("rtcdyn", 120 * MB), ("rtcshared", 310 * MB), ("rtcxds", 2400 * MB)]
    for server, key in ((chi1, "chi1"), (chi2, "chi2")):
        c_vol = volume("C:\\", f"{key}-c", 299 * GB, 170 * GB)
        d_vol = volume("D:\\", f"{key}-d", 1 * TB, 700 * GB)
        logs_mount = volume("D:\\SQLLogs\\", f"{key}-logs", 300 * GB, 260 * GB)
        sysdir = "C:\\Program Files\\Microsoft SQL Server\\MSSQL11.RTC\\MSSQL\\DATA"
        system_databases(server, (c_vol, sysdir), (c_vol, sysdir))
        mirrored = [("rtcxds", 5), ("rtcshared", 6)]
        for name, database_id in mirrored:
            log_place = (d_vol, "D:\\SQLData") if (drift and server is chi1
                                                   and name == "rtcshared") else (
                logs_mount, "D:\\SQLLogs")
            server.database(name, database_id, "FULL", state=0 if server is chi1 else 1,
                            files=files(name, (d_vol, "D:\\SQLData"), log_place))
            server.mirror(name, 1 if server is chi1 else 2, 4,
                          "SQLCHI02\\RTC" if server is chi1 else "SQLCHI01\\RTC")
        if server is chi1:
            server.database("rtcdyn", 7, "SIMPLE", files=files(
                "rtcdyn", (d_vol, "D:\\SQLData"), (logs_mount, "D:\\SQLLogs")))
        housekeeping_job(server, dba)
    chi_jobs: dict[str, dict[str, Job]] = {}
    for server in (chi1, chi2):
        disabled = drift and server is chi2
        chi_jobs[server.server_name] = {
            "full": server.job("DatabaseBackup - USER_DATABASES - FULL",
                               [ola_step("USER_DATABASES", chi_share, "FULL", cleanup_hours=96)],
                               [daily(11, "Nightly 23:00", dt.time(23, 0))], operator=dba),
            "log": server.job("DatabaseBackup - USER_DATABASES - LOG",
                              [ola_step("USER_DATABASES", chi_share, "LOG", cleanup_hours=96)],
                              [daily(12, "Hourly at :30", dt.time(0, 30), every_hours=1)],
                              operator=dba),
            "system": server.job("DatabaseBackup - SYSTEM_DATABASES - FULL",
                                 [ola_step("SYSTEM_DATABASES", chi_share, "FULL",
                                           cleanup_hours=96)],
                                 [daily(13, "Nightly " + ("22:30" if server is chi1 else "22:45"),
                                        dt.time(22, 30 if server is chi1 else 45))],
                                 operator=dba, enabled=not disabled)}
    system_sizes = [("master", 5 * MB), ("model", 3 * MB), ("msdb", 180 * MB)]
    run_nightly(chi1, chi_jobs[chi1.server_name]["system"], system_sizes, first,
                dt.time(22, 30), "D", destination=chi_share)
    chi2_system_first = first if not drift else dt.date(2026, 10, 20)
    chi2_system_until = (lambda day: day > dt.date(2026, 11, 10)) if drift else (
        lambda day: False)
    run_nightly(chi2, None if drift else chi_jobs[chi2.server_name]["system"], system_sizes,
                chi2_system_first, dt.time(22, 45), "D", destination=chi_share,
                skip=lambda day, name: chi2_system_until(day))
    if drift:
        # the system job on SQLCHI02 was disabled when the server was rebuilt on 2026-11-11
        sys2 = chi_jobs[chi2.server_name]["system"]
        for day in days(dt.date(2026, 10, 20), dt.date(2026, 11, 10)):
            sys2.ran(at(day, dt.time(22, 45)), 31)
    run_nightly(chi1, chi_jobs[chi1.server_name]["full"], chi_sizes, first, dt.time(23, 0), "D",
                destination=chi_share, growth_per_day={"rtcxds": 5 * MB})
    for day in days(first, CHI_NOW.date()):
        if at(day, dt.time(23, 0)) < CHI_NOW:  # the job runs on the mirror too, finding nothing
            chi_jobs[chi2.server_name]["full"].ran(at(day, dt.time(23, 0)), 2)
    if drift:
        run_hourly_logs(chi1, chi_jobs[chi1.server_name]["log"], ["rtcshared", "rtcxds"],
                        local(2026, 11, 1, 0, 30), 30, destination=chi_share,
                        until=local(2026, 11, 23, 9, 31))
        # 09:40 rtcxds switched to SIMPLE to shrink its log, back to FULL at 09:50, then a
        # differential at 09:55 (a DBA, by hand) so that log backups could start again.
        chi1.backup("rtcxds", "I", local(2026, 11, 23, 9, 55, 12), seconds=21, size=640 * MB,
                    destination=chi_share, breaks_chain=True)
        run_hourly_logs(chi1, chi_jobs[chi1.server_name]["log"], ["rtcshared", "rtcxds"],
                        local(2026, 11, 23, 10, 30), 30, destination=chi_share)
        chi1.suspect_page("rtcxds", 1204877, 2, local(2026, 11, 21, 16, 2, 37), error_count=2)
    else:
        run_hourly_logs(chi1, chi_jobs[chi1.server_name]["log"], ["rtcshared", "rtcxds"],
                        local(2026, 11, 1, 0, 30), 30, destination=chi_share)
    for start in [local(2026, 11, 1, 0, 30) + i * H for i in range(24 * 23)]:
        if start < CHI_NOW:
            chi_jobs[chi2.server_name]["log"].ran(start, 1)
    chi1.finish()
    chi2.finish()

    # SQLMON01\LYNCMON: Monitoring store, 40 days of msdb history (reaching back before the
    # end of daylight saving on 2026-11-01, so older rows carry time_zone -20).
    mon = SqlServer("SQLMON01\\LYNCMON", CHICAGO, collected_at=COLLECTED_AT,
                    product_version="11.0.6020.0", product_level="SP3",
                    edition="Standard Edition (64-bit)", history_kept_days=40, first_set_id=15402,
                    role="monitoring")
    c_mon = volume("C:\\", "mon-c", 199 * GB, 120 * GB)
    d_mon = volume("D:\\", "mon-d", 2 * TB, 1400 * GB)
    l_mon = volume("L:\\", "mon-l", 500 * GB, 420 * GB)
    sysdir = "C:\\Program Files\\Microsoft SQL Server\\MSSQL11.LYNCMON\\MSSQL\\DATA"
    system_databases(mon, (c_mon, sysdir), (c_mon, sysdir))
    for name, database_id in (("LcsCDR", 5), ("QoEMetrics", 6), ("ReportServer", 7),
                              ("ReportServerTempDB", 8)):
        mon.database(name, database_id, "FULL" if name == "ReportServer" else "SIMPLE",
                     files=files(name, (d_mon, "D:\\SQLData"), (l_mon, "L:\\SQLLogs")))
    mon.cdr_sessions = list(CDR_SESSIONS)
    housekeeping_job(mon, dba)
    mon_first = dt.date(2026, 10, 12)
    mon_sys = mon.job("DatabaseBackup - SYSTEM_DATABASES - FULL",
                      [ola_step("SYSTEM_DATABASES", chi_share, "FULL", cleanup_hours=96)],
                      [daily(13, "Nightly 00:30", dt.time(0, 30))], operator=dba)
    run_nightly(mon, mon_sys, system_sizes, mon_first, dt.time(0, 30), "D",
                destination=chi_share)
    mon_sizes = [("LcsCDR", 14 * GB), ("QoEMetrics", 6 * GB), ("ReportServer", 40 * MB),
                 ("ReportServerTempDB", 8 * MB)]
    growth = {"LcsCDR": 120 * MB, "QoEMetrics": 40 * MB}
    if drift:
        # QoEMetrics: fulls on Monday and Thursday, differentials the other nights (waived)
        user = mon.job("DatabaseBackup - USER_DATABASES - FULL",
                       [ola_step("USER_DATABASES, -QoEMetrics", chi_share, "FULL",
                                 cleanup_hours=96)],
                       [daily(11, "Nightly 02:00", dt.time(2, 0))], operator=dba)
        qoe_full = mon.job("DatabaseBackup - QoEMetrics - FULL",
                           [ola_step("QoEMetrics", chi_share, "FULL", cleanup_hours=192)],
                           [weekly(14, "Monday and Thursday 02:10", 2 | 16, dt.time(2, 10))],
                           operator=dba)
        qoe_diff = mon.job("DatabaseBackup - QoEMetrics - DIFF",
                           [ola_step("QoEMetrics", chi_share, "DIFF", cleanup_hours=192)],
                           [weekly(15, "Other nights 02:10", 1 | 4 | 8 | 32 | 64,
                                   dt.time(2, 10))], operator=dba)
        run_nightly(mon, user, [s for s in mon_sizes if s[0] != "QoEMetrics"], mon_first,
                    dt.time(2, 0), "D", destination=chi_share, growth_per_day=growth,
                    compression=1.0)
        run_nightly(mon, qoe_full, [("QoEMetrics", 6 * GB)], mon_first, dt.time(2, 10), "D",
                    destination=chi_share, growth_per_day=growth, weekdays={0, 3},
                    compression=1.0)
        run_nightly(mon, qoe_diff, [("QoEMetrics", 900 * MB)], mon_first, dt.time(2, 10), "I",
                    destination=chi_share, weekdays={1, 2, 4, 5, 6}, compression=1.0)
    else:
        user = mon.job("DatabaseBackup - USER_DATABASES - FULL",
                       [ola_step("USER_DATABASES", chi_share, "FULL", cleanup_hours=96)],
                       [daily(11, "Nightly 02:00", dt.time(2, 0))], operator=dba)
        run_nightly(mon, user, mon_sizes, mon_first, dt.time(2, 0), "D", destination=chi_share,
                    growth_per_day=growth, compression=1.0)
    mon.finish()

    fe_local = front_end_local("FE-BNE01\\RTCLOCAL", "11.0.6020.0", "SP3")
    restore = SqlServer("RESTORE01\\TEST", BRISBANE, collected_at=COLLECTED_AT,
                        product_version="12.0.5000.0", product_level="SP2",
                        edition="Developer Edition (64-bit)", first_set_id=2201,
                        role="restore_test")
    c_rt = volume("C:\\", "rt-c", 199 * GB, 90 * GB)
    e_rt = volume("E:\\", "rt-e", 2 * TB, 1500 * GB)
    sysdir = "C:\\Program Files\\Microsoft SQL Server\\MSSQL12.TEST\\MSSQL\\DATA"
    system_databases(restore, (c_rt, sysdir), (c_rt, sysdir))
    tests = [(bne, n) for n in ("xds", "lis", "rtcxds", "rtcshared", "rgsconfig")]
    tests += [(chi1, n) for n in ("rtcxds", "rtcshared")]
    for database_id, (server, name) in enumerate(tests, start=5):
        suffix = "_chi" if server is chi1 else ""
        restore.database(f"{name}{suffix}_restoretest", database_id, "SIMPLE", files=files(
            f"{name}{suffix}_restoretest", (e_rt, "E:\\RestoreTest"), (e_rt, "E:\\RestoreTest")))
    restore_job = restore.job("Weekly restore test of the Lync Back Ends",
                              [Step(1, "Restore and CHECKDB", "PowerShell",
                                    "& 'E:\\Scripts\\Test-LyncRestore.ps1' -SqlInstance "
                                    "'RESTORE01\\TEST' -Verbose")],
                              [weekly(21, "Sunday 10:00", 1, dt.time(10, 0))], operator=dba)
    housekeeping_job(restore, dba)
    sunday = local(2026, 11, 15, 10, 0)
    minute = 0
    for server, name in tests:
        source_time = at(dt.date(2026, 11, 15), dt.time(9, 0)) if server is bne else at(
            dt.date(2026, 11, 14), dt.time(23, 59))
        source = last_full(server, name, source_time)
        suffix = "_chi" if server is chi1 else ""
        restore.restore(sunday + dt.timedelta(minutes=minute, seconds=17),
                        f"{name}{suffix}_restoretest", source, replace=True)
        minute += 4
    restore_job.ran(sunday, minute * 60 + 40)
    restore.restore(local(2026, 11, 22, 10, 3, 2), "rtcxds", last_full(
        bne, "rtcxds", local(2026, 11, 22, 2, 0)), restore_type="V", recovery=False)
    restore_job.ran(local(2026, 11, 22, 10, 0), 190)

    servers = [bne, chi1, chi2, mon, fe_local, restore]
    lync = _well_run_lync(domain, netbios, drift, servers, bne_share, chi_share, export_share)
    return Estate("drifted" if drift else "healthy", servers, lync)


def front_end_local(server_name: str, version: str, level: str) -> SqlServer:
    """A Front End's RTCLOCAL SQL Express instance: local replica stores, no backups, no Agent."""
    fe = SqlServer(server_name, BRISBANE, collected_at=COLLECTED_AT, product_version=version,
                   product_level=level, edition="Express Edition (64-bit)", first_set_id=1,
                   role="front_end_local")
    c_fe = volume("C:\\", "fe-c", 279 * GB, 190 * GB)
    folder = "C:\\Program Files\\Microsoft SQL Server\\MSSQL11.RTCLOCAL\\MSSQL\\DATA"
    system_databases(fe, (c_fe, folder), (c_fe, folder))
    for name, database_id in (("xds", 5), ("rtc", 6), ("rtcdyn", 7)):
        fe.database(name, database_id, "SIMPLE", files=files(name, (c_fe, folder), (c_fe, folder)))
    fe.finish()
    return fe


def _well_run_lync(domain: str, netbios: str, drift: bool, servers: list[SqlServer],
                   bne_share: str, chi_share: str, export_share: str) -> list[LyncProbe]:
    fe_bne, fe_chi, edge = (f"fe-bne01.{domain}", f"fe-chi01.{domain}", f"edge-bne01.{domain}")
    pool_bne, pool_chi = f"lyncbne.{domain}", f"lyncchi.{domain}"
    last_change = utc(2026, 11, 21, 23, 40, 9) if drift else utc(2026, 11, 20, 3, 12, 44)
    edge_report = utc(2026, 11, 20, 9, 14, 2) if drift else COLLECTED_AT - dt.timedelta(
        minutes=7, seconds=12)
    probes = [probe("cms_replication", "deployment", [
        replica(fe_bne, True, COLLECTED_AT - dt.timedelta(minutes=2, seconds=41), last_change),
        replica(fe_chi, True, COLLECTED_AT - dt.timedelta(minutes=4, seconds=3), last_change),
        replica(edge, not drift, edge_report,
                utc(2026, 11, 18, 22, 5, 31) if drift else last_change)])]

    exports: list[dict[str, object]] = []
    export_days = (days(dt.date(2026, 11, 18), dt.date(2026, 11, 20)) if drift
                   else days(dt.date(2026, 11, 21), dt.date(2026, 11, 23)))
    for day in export_days:
        stamp = f"{day:%Y%m%d}"
        base = utc(day.year, day.month, day.day, 3, 30)
        exports += [
            export_file(export_share, f"CsConfiguration-{stamp}.zip", base + dt.timedelta(
                seconds=41), 48213 + jitter(stamp, 900), ["DocItemSet.xml"]),
            export_file(export_share, f"LisExport-{stamp}.zip", base + dt.timedelta(
                minutes=1, seconds=7), 9120 + jitter(stamp + "lis", 90), ["LisConfiguration.xml"]),
            export_file(export_share, f"RgsExport-{stamp}.zip", base + dt.timedelta(
                minutes=2, seconds=30), 1843020 + jitter(stamp + "rgs", 9000),
                ["RgsConfiguration.xml", "AudioFiles/Welcome.wma", "AudioFiles/Hold.wma"]),
            export_file(export_share, f"UserData-{stamp}.zip", base + dt.timedelta(
                minutes=6, seconds=12), 20931044 + jitter(stamp + "ud", 90000),
                ["UserData.xml", "ConferenceDirectory.xml"]),
            export_file(export_share, f"FileStore-robocopy-{stamp}.log", base + dt.timedelta(
                minutes=31, seconds=2), 65536 + jitter(stamp + "fs", 9000), None, is_zip=False)]
    probes.append(probe("config_exports", "deployment", exports, Path=export_share))

    for pool, other in ((pool_bne, pool_chi), (pool_chi, pool_bne)):
        probes.append(probe("pool_backup_relationship", pool,
                            [{"PoolFqdn": pool, "BackupPoolFqdn": other}], PoolFqdn=pool))
    probes.append(probe("backup_service_status", pool_bne, [backup_service(pool_bne, [
        ("UserServices.PresenceFocus", "SteadyState", "NormalState"),
        ("ConfServices.DataConf", "SteadyState", "NormalState"),
        ("CentralMgmt.CMSMaster", "SteadyState", "NormalState")])], PoolFqdn=pool_bne))
    probes.append(probe("backup_service_status", pool_chi, [backup_service(pool_chi, [
        ("UserServices.PresenceFocus", "SteadyState", "NormalState"),
        ("ConfServices.DataConf", "SteadyState", "NormalState"),
        ("CentralMgmt.CMSMaster", "NotInitialized", "NormalState")])], PoolFqdn=pool_chi))

    builtin = [ace("BUILTIN\\Administrators", FULL_CONTROL, inherited=True),
               ace("NT AUTHORITY\\SYSTEM", FULL_CONTROL, inherited=True),
               ace("CREATOR OWNER", GENERIC_ALL, inherited=True)]
    sql_acl = [*builtin, ace(f"{netbios}\\svc-sqlservice", MODIFY),
               ace(f"{netbios}\\SQL-DBA", READ_EXECUTE)]
    chi_acl = [*sql_acl, ace("Everyone", READ_EXECUTE)] if drift else sql_acl
    export_acl = [*builtin, ace(f"{netbios}\\svc-lyncexport", MODIFY),
                  ace(f"{netbios}\\RTCUniversalServerAdmins", READ_EXECUTE)]
    for share, acl in ((bne_share, sql_acl), (chi_share, chi_acl), (export_share, export_acl)):
        probes.append(probe("share_acl", share, acl, Path=share))
    space = {bne_share: (4 * TB, 2662 * GB), chi_share: (4 * TB, 2970 * GB),
             export_share: (4 * TB, 2662 * GB)}
    for share, (total, free) in space.items():
        probes.append(probe("share_space", share, [{"Path": share, "FreeBytes": free,
                                                    "TotalBytes": total}], Path=share))

    def keep(b: BackupSet) -> dt.timedelta:
        hours = 192 if b.database == "QoEMetrics" and drift else 96
        return dt.timedelta(hours=hours)

    probes.append(probe("share_files", bne_share, backup_files(servers, bne_share,
                                                               COLLECTED_AT, keep),
                        Path=bne_share))
    probes.append(probe("share_files", chi_share, backup_files(servers, chi_share,
                                                               COLLECTED_AT, keep),
                        Path=chi_share))
    probes.append(probe("share_files", export_share, [
        {"FullName": e["FullName"], "Length": e["Length"],
         "LastWriteTimeUtc": e["LastWriteTimeUtc"]} for e in exports], Path=export_share))

    chi_version = "5.0.8308.1001" if drift else "5.0.8308.992"
    hp = ("HP", "ProLiant DL380p Gen8")
    probes += [
        probe("server_inventory", fe_bne, [server_inventory(
            fe_bne, *hp, *WS2012R2, [(p, "5.0.8308.992") for p in LYNC_PRODUCTS])],
            ComputerName=fe_bne),
        probe("server_inventory", fe_chi, [server_inventory(
            fe_chi, *hp, *WS2012R2, [(p, chi_version) for p in LYNC_PRODUCTS])],
            ComputerName=fe_chi),
        probe("server_inventory", edge, [server_inventory(
            edge, "Dell Inc.", "PowerEdge R630", *WS2012R2, [(EDGE_PRODUCT, "5.0.8308.992")])],
            ComputerName=edge)]
    probes.append(probe("database_services", "deployment", [
        {"Identity": f"UserDatabase:sqlbne01.{domain}", "Role": "UserDatabase",
         "PoolFqdn": f"sqlbne01.{domain}", "SqlInstanceName": "rtc", "MirrorSqlServer": None},
        {"Identity": f"CentralManagementDatabase:sqlbne01.{domain}",
         "Role": "CentralManagementDatabase", "PoolFqdn": f"sqlbne01.{domain}",
         "SqlInstanceName": "rtc", "MirrorSqlServer": None},
        {"Identity": f"ApplicationDatabase:sqlbne01.{domain}", "Role": "ApplicationDatabase",
         "PoolFqdn": f"sqlbne01.{domain}", "SqlInstanceName": "rtc", "MirrorSqlServer": None},
        {"Identity": f"UserDatabase:sqlchi01.{domain}", "Role": "UserDatabase",
         "PoolFqdn": f"sqlchi01.{domain}", "SqlInstanceName": "rtc",
         "MirrorSqlServer": f"UserDatabase:sqlchi02.{domain}"},
        {"Identity": f"MonitoringDatabase:sqlmon01.{domain}", "Role": "MonitoringDatabase",
         "PoolFqdn": f"sqlmon01.{domain}", "SqlInstanceName": "lyncmon",
         "MirrorSqlServer": None}]))
    # The topology agrees with the inventory; Fabrikam's Topology Builder has the Chicago Front
    # End in capitals, which the comparison must not take for another server.
    probes += topology(domain, {
        f"sqlbne01.{domain}": ("BNE", ("UserDatabase", "CentralManagementDatabase",
                                       "ApplicationDatabase")),
        f"sqlchi01.{domain}": ("CHI", ("UserDatabase",)),
        f"sqlchi02.{domain}": ("CHI", ("UserDatabase",)),
        f"sqlmon01.{domain}": ("CHI", ("MonitoringDatabase",))}, {
        f"lyncbne.{domain}": [fe_bne],
        f"lyncchi.{domain}": [f"FE-CHI01.{domain}" if drift else fe_chi]})
    return probes


# --- the neglected estate: Litware ---------------------------------------------------------------

def neglected() -> Estate:
    """Litware: installed by a consultant in 2014 and hardly looked at since."""
    domain, netbios = "litwareinc.com", "LITWARE"
    chi_share = f"\\\\chibak01.{domain}\\sql"
    export_share = f"\\\\fs01.{domain}\\lyncexports"

    # SQLBNE01\RTC: everything on C:, a weekly maintenance plan writing to the local E: drive.
    bne = SqlServer("SQLBNE01\\RTC", BRISBANE, collected_at=COLLECTED_AT,
                    product_version="12.0.4100.1", product_level="SP1",
                    edition="Enterprise Edition (64-bit)", first_set_id=2906, role="back_end")
    c_bne = volume("C:\\", "lw-bne-c", 558 * GB, 61 * GB)
    folder = "C:\\Program Files\\Microsoft SQL Server\\MSSQL12.RTC\\MSSQL\\DATA"
    system_databases(bne, (c_bne, folder), (c_bne, folder))
    for name, database_id in (("xds", 5), ("lis", 6), ("rtcxds", 7), ("rtcshared", 8),
                              ("rtcdyn", 9), ("rtcab", 10)):
        bne.database(name, database_id, "FULL" if name == "rtcxds" else "SIMPLE",
                     files=files(name, (c_bne, folder), (c_bne, folder)))
    plan = bne.job("Lync Weekly Backup.Subplan_1",
                   [Step(1, "Subplan_1", "SSIS",
                         '/Server "$(ESCAPE_NONE(SRVR))" /SQL "Maintenance Plans\\Lync Weekly '
                         'Backup" /set "\\Package\\Subplan_1.Disable;false"')],
                   [weekly(7, "Lync Weekly Backup.Subplan_1", 1, dt.time(20, 0))])
    housekeeping_job(bne, None)
    plan_dbs = [("master", 5 * MB), ("model", 3 * MB), ("msdb", 1900 * MB), ("xds", 150 * MB),
                ("rtcxds", 2900 * MB), ("rtcshared", 380 * MB), ("rtcdyn", 140 * MB),
                ("rtcab", 850 * MB)]
    for day in days(dt.date(2026, 10, 18), BNE_NOW.date()):
        if day.weekday() != 6:  # Sunday
            continue
        cursor = at(day, dt.time(20, 0, 1))
        for name, size in plan_dbs:
            took = seconds_for(size, f"lw/{name}/{day}")
            bne.backup(name, "D", cursor, seconds=took, size=size,
                       device_path=f"E:\\Backup\\{name}_backup_{cursor:%Y_%m_%d_%H%M%S}_"
                                   f"{jitter(name + str(day), 9_000_000):07d}.bak",
                       checksums=False, compression=1.0,
                       unknown_zone=name in ("master", "model", "msdb"))
            cursor += dt.timedelta(seconds=took + 3)
        plan.ran(at(day, dt.time(20, 0)), int((cursor - at(day, dt.time(20, 0))).total_seconds()))
    for name, _ in plan_dbs:
        bne.history_before(name, "D", local(2026, 10, 11, 20, 2, 40), 626)
    bne.suspect_page("rtcxds", 310442, 3, local(2026, 11, 2, 9, 41, 7), error_count=1)
    bne.finish()

    # SQLCHI01\RTC and SQLCHI02\RTC: the mirror has been SUSPENDED since August; a VSS agent
    # takes copy-only snapshots of SQLCHI01 every night; no SQL Agent backup job since 2019.
    chi1 = SqlServer("SQLCHI01\\RTC", CHICAGO, collected_at=COLLECTED_AT,
                     product_version="11.0.3000.0", product_level="SP1",
                     edition="Enterprise Edition (64-bit)", first_set_id=77120, role="back_end")
    chi2 = SqlServer("SQLCHI02\\RTC", CHICAGO, collected_at=COLLECTED_AT,
                     product_version="11.0.3000.0", product_level="SP1",
                     edition="Enterprise Edition (64-bit)", first_set_id=12, role="mirror")
    for server, key in ((chi1, "lw-chi1"), (chi2, "lw-chi2")):
        c_vol = volume("C:\\", f"{key}-c", 299 * GB, 140 * GB)
        d_vol = volume("D:\\", f"{key}-d", 1 * TB, 520 * GB)
        l_vol = volume("L:\\", f"{key}-l", 300 * GB, 40 * GB)
        sysdir = "C:\\Program Files\\Microsoft SQL Server\\MSSQL11.RTC\\MSSQL\\DATA"
        system_databases(server, (c_vol, sysdir), (c_vol, sysdir))
        for name, database_id in (("rtcxds", 5), ("rtcshared", 6)):
            server.database(name, database_id, "FULL", state=0 if server is chi1 else 1,
                            files=files(name, (d_vol, "D:\\SQLData"), (l_vol, "L:\\SQLLogs")))
            server.mirror(name, 1 if server is chi1 else 2, 0,
                          "SQLCHI02\\RTC" if server is chi1 else "SQLCHI01\\RTC")
        if server is chi1:
            server.database("rtcdyn", 7, "SIMPLE", files=files(
                "rtcdyn", (d_vol, "D:\\SQLData"), (l_vol, "L:\\SQLLogs")))
        housekeeping_job(server, None)
    vss = [("master", 5 * MB), ("model", 3 * MB), ("msdb", 240 * MB), ("rtcdyn", 110 * MB),
           ("rtcshared", 290 * MB), ("rtcxds", 2300 * MB)]
    for day in days(dt.date(2026, 9, 10), CHI_NOW.date()):
        start = at(day, dt.time(21, 0, 3))
        if start >= CHI_NOW:
            continue
        for name, size in vss:  # one VSS snapshot freezes every database at once
            chi1.backup(name, "D", start, seconds=4, size=size,
                        device_path=f"{{{guid('vss', str(day), name)}}}1", device_type=7,
                        copy_only=True, checksums=False, compression=1.0)
    for name in ("rtcxds", "rtcshared"):
        chi1.history_before(name, "D", local(2019, 3, 2, 23, 4, 11), 1644)
        chi1.history_before(name, "L", local(2019, 3, 3, 0, 15, 2), 38410)
    chi1.history_before("rtcdyn", "D", local(2019, 3, 2, 23, 1, 40), 1644)
    chi1.restore(local(2026, 9, 14, 7, 12, 40), "rtcxds",
                 next(b for b in chi1.backups if b.database == "rtcxds"
                      and b.start.date() == dt.date(2026, 9, 13)), replace=True)
    chi1.finish()
    chi2.finish()

    # SQLMON01\LYNCMON: LcsCDR OFFLINE since its disk filled in May 2025; QoEMetrics backed up
    # nightly to a share that is nearly full, with a 24-hour cleanup to make room.
    mon = SqlServer("SQLMON01\\LYNCMON", CHICAGO, collected_at=COLLECTED_AT,
                    product_version="11.0.3000.0", product_level="SP1",
                    edition="Standard Edition (64-bit)", first_set_id=5127, role="monitoring")
    c_mon = volume("C:\\", "lw-mon-c", 199 * GB, 80 * GB)
    d_mon = volume("D:\\", "lw-mon-d", 1 * TB, 12 * GB)
    l_mon = volume("L:\\", "lw-mon-l", 200 * GB, 150 * GB)
    sysdir = "C:\\Program Files\\Microsoft SQL Server\\MSSQL11.LYNCMON\\MSSQL\\DATA"
    system_databases(mon, (c_mon, sysdir), (c_mon, sysdir))
    for name, database_id in (("LcsCDR", 5), ("QoEMetrics", 6), ("ReportServer", 7),
                              ("ReportServerTempDB", 8)):
        mon.database(name, database_id, "FULL" if name == "ReportServer" else "SIMPLE",
                     state=6 if name == "LcsCDR" else 0,
                     files=files(name, (d_mon, "D:\\SQLData"), (l_mon, "L:\\SQLLogs")))
    mon.fail("cdr_hourly_usage", ObservationStatus.ERROR,
             "42000 [Microsoft][ODBC Driver 17 for SQL Server][SQL Server]Database 'LcsCDR' "
             "cannot be opened because it is offline. (942)")
    dba = Operator(1, "DBA", f"dba@{domain}")
    housekeeping_job(mon, dba)
    user = mon.job("DatabaseBackup - USER_DATABASES - FULL",
                   [ola_step("USER_DATABASES", chi_share, "FULL", cleanup_hours=24,
                             compress=False)],
                   [daily(11, "Nightly 02:00", dt.time(2, 0))], operator=dba)
    sys_job = mon.job("DatabaseBackup - SYSTEM_DATABASES - FULL",
                      [ola_step("SYSTEM_DATABASES", chi_share, "FULL", cleanup_hours=24,
                                compress=False)],
                      [weekly(13, "Sunday 00:15", 1, dt.time(0, 15))], operator=dba)
    run_nightly(mon, sys_job, [("master", 5 * MB), ("model", 3 * MB), ("msdb", 420 * MB)],
                dt.date(2026, 10, 18), dt.time(0, 15), "D", destination=chi_share,
                weekdays={6}, compression=1.0)
    run_nightly(mon, user, [("QoEMetrics", 9 * GB), ("ReportServer", 50 * MB),
                            ("ReportServerTempDB", 10 * MB)],
                dt.date(2026, 10, 18), dt.time(2, 0), "D", destination=chi_share,
                compression=1.0)
    mon.history_before("LcsCDR", "D", local(2025, 5, 11, 2, 31, 7), 212)
    mon.finish()

    fe_local = front_end_local("FE-BNE01\\RTCLOCAL", "11.0.3000.0", "SP1")
    servers = [bne, chi1, chi2, mon, fe_local]

    fe_bne, fe_chi, edge = (f"fe-bne01.{domain}", f"fe-chi01.{domain}", f"edge-bne01.{domain}")
    pool_bne, pool_chi = f"lyncbne.{domain}", f"lyncchi.{domain}"
    last_change = utc(2026, 10, 2, 5, 41, 18)
    probes = [probe("cms_replication", "deployment", [
        replica(fe_bne, True, COLLECTED_AT - dt.timedelta(minutes=3, seconds=9), last_change),
        replica(fe_chi, False, utc(2026, 11, 21, 2, 0, 55), utc(2026, 9, 30, 17, 2, 3)),
        replica(edge, True, utc(2026, 11, 22, 6, 0, 12), last_change)])]
    exports = [
        export_file(export_share, "CsConfiguration-2025-01-12.zip", utc(2025, 1, 12, 4, 10, 2),
                    41877, ["DocItemSet.xml"]),
        export_file(export_share, "CsConfig-backup.zip", utc(2026, 5, 3, 1, 2, 0), 0, None,
                    is_zip=False),
        export_file(export_share, "LisExport-2025-01-12.zip", utc(2025, 1, 12, 4, 11, 40), 8817,
                    ["LisConfiguration.xml"])]
    probes.append(probe("config_exports", "deployment", exports, Path=export_share))
    for pool, other in ((pool_bne, pool_chi), (pool_chi, pool_bne)):
        probes.append(probe("pool_backup_relationship", pool,
                            [{"PoolFqdn": pool, "BackupPoolFqdn": other}], PoolFqdn=pool))
    probes.append(probe("backup_service_status", pool_bne, [backup_service(pool_bne, [
        ("UserServices.PresenceFocus", "SteadyState", "NormalState"),
        ("ConfServices.DataConf", "NonSteadyState", "NormalState"),
        ("CentralMgmt.CMSMaster", "SteadyState", "NormalState")])], PoolFqdn=pool_bne))
    probes.append(probe("backup_service_status", pool_chi, [backup_service(pool_chi, [
        ("UserServices.PresenceFocus", "ErrorState", "ErrorState"),
        ("ConfServices.DataConf", "SteadyState", "NormalState"),
        ("CentralMgmt.CMSMaster", "NotInitialized", "NormalState")])], PoolFqdn=pool_chi))
    builtin = [ace("BUILTIN\\Administrators", FULL_CONTROL, inherited=True),
               ace("NT AUTHORITY\\SYSTEM", FULL_CONTROL, inherited=True)]
    probes.append(probe("share_acl", chi_share, [
        *builtin, ace("Everyone", FULL_CONTROL), ace(f"{netbios}\\svc-sql", MODIFY)],
        Path=chi_share))
    probes.append(probe("share_acl", export_share, [
        *builtin, ace("NT AUTHORITY\\Authenticated Users", MODIFY)], Path=export_share))
    probes.append(probe("share_space", chi_share, [
        {"Path": chi_share, "FreeBytes": 11 * GB, "TotalBytes": 2 * TB}], Path=chi_share))
    probes.append(probe("share_space", export_share, [
        {"Path": export_share, "FreeBytes": 310 * GB, "TotalBytes": 1 * TB}], Path=export_share))
    probes.append(probe("share_files", chi_share, backup_files(
        servers, chi_share, COLLECTED_AT, lambda b: dt.timedelta(hours=24)), Path=chi_share))
    probes.append(probe("share_files", export_share, [
        share_file(str(e["FullName"]), int(str(e["Length"])), when) for e, when in zip(
            exports, (utc(2025, 1, 12, 4, 10, 2), utc(2026, 5, 3, 1, 2, 0),
                      utc(2025, 1, 12, 4, 11, 40)), strict=True)], Path=export_share))
    ws2012 = ("Microsoft Windows Server 2012 Standard", "6.2.9200")
    probes += [
        probe("server_inventory", fe_bne, [server_inventory(
            fe_bne, "HP", "ProLiant DL380p Gen8", *ws2012,
            [(p, "5.0.8308.577") for p in LYNC_PRODUCTS])], ComputerName=fe_bne),
        probe("server_inventory", fe_chi, [server_inventory(
            fe_chi, "HP", "ProLiant DL380p Gen8", *ws2012,
            [(p, "5.0.8308.577") for p in LYNC_PRODUCTS])], ComputerName=fe_chi),
        LyncProbe("server_inventory", edge, [], {"ComputerName": edge},
                  ObservationStatus.TIMEOUT,
                  f"WinRM: connecting to {edge}:5986 timed out after 30 s")]
    # Lync's topology no longer lists the CMS and Monitoring databases the inventory names
    # (the report's scope section shows both differences).
    probes.append(probe("database_services", "deployment", [
        {"Identity": f"UserDatabase:sqlbne01.{domain}", "Role": "UserDatabase",
         "PoolFqdn": f"sqlbne01.{domain}", "SqlInstanceName": "rtc", "MirrorSqlServer": None},
        {"Identity": f"ApplicationDatabase:sqlbne01.{domain}", "Role": "ApplicationDatabase",
         "PoolFqdn": f"sqlbne01.{domain}", "SqlInstanceName": "rtc", "MirrorSqlServer": None},
        {"Identity": f"UserDatabase:sqlchi01.{domain}", "Role": "UserDatabase",
         "PoolFqdn": f"sqlchi01.{domain}", "SqlInstanceName": "rtc",
         "MirrorSqlServer": f"UserDatabase:sqlchi02.{domain}"}]))
    # The same in Get-CsPool (no Monitoring store), and a second Brisbane Front End, fe-bne02,
    # added to lyncbne in 2015 and never put in the inventory: it is not audited.
    probes += topology(domain, {
        f"sqlbne01.{domain}": ("BNE", ("UserDatabase", "ApplicationDatabase")),
        f"sqlchi01.{domain}": ("CHI", ("UserDatabase",)),
        f"sqlchi02.{domain}": ("CHI", ("UserDatabase",))}, {
        pool_bne: [fe_bne, f"fe-bne02.{domain}"], pool_chi: [fe_chi]})
    return Estate("neglected", servers, probes)


ESTATES: dict[str, Callable[[], Estate]] = {"healthy": healthy, "drifted": drifted,
                                            "neglected": neglected}
