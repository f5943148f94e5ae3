-- One simulated SQL Server instance: its msdb tables (dbo), the server catalog views (sys, as
-- tables), the lab's bookkeeping (lab) and the T-SQL stand-ins (public). Built to
-- ../shared/design/lab-schema.md; the names and types there are the contract. Type mapping:
-- bit -> boolean, tinyint -> smallint, sysname/nvarchar(n) -> varchar(n), nvarchar(max) -> text,
-- datetime -> timestamp(3), datetime2 -> timestamp(6), uniqueidentifier -> uuid.
-- Columns probes do not read have defaults, so the loader may leave them out.

CREATE SCHEMA dbo;
CREATE SCHEMA sys;
CREATE SCHEMA lab;

-- lab: the instance's identity, clock and volumes. Probes never name lab.*.
CREATE TABLE lab.instance (
    server_name varchar(128) NOT NULL,
    machine_name varchar(128) NOT NULL,
    computer_name_physical_netbios varchar(128) NOT NULL,
    instance_name varchar(128),
    product_version varchar(128) NOT NULL DEFAULT '11.0.6020.0',
    product_level varchar(128) NOT NULL DEFAULT 'SP3',
    edition varchar(128) NOT NULL DEFAULT 'Enterprise Edition (64-bit)',
    engine_edition integer NOT NULL DEFAULT 3,
    is_clustered integer NOT NULL DEFAULT 0,
    time_zone text NOT NULL,            -- a PostgreSQL time zone; the database's timezone too
    clock_utc timestamp(6),             -- NULL: the real clock; set: the clock stopped there (UTC)
    database_name varchar(128) NOT NULL DEFAULT 'msdb'  -- what DB_NAME() says the connection opened
);
CREATE UNIQUE INDEX instance_singleton ON lab.instance ((true));

-- Server-level permissions held by logins, as HAS_PERMS_BY_NAME(NULL, NULL, permission) reads
-- them (VIEW ANY DEFINITION, ALTER ANY DATABASE, CREATE ANY DATABASE: what sys.master_files needs).
CREATE TABLE lab.server_permission (
    grantee varchar(128) NOT NULL,
    permission_name varchar(128) NOT NULL,
    PRIMARY KEY (grantee, permission_name)
);

CREATE TABLE lab.volume (
    volume_mount_point varchar(512) PRIMARY KEY,
    volume_id varchar(512) NOT NULL,
    logical_volume_name varchar(512) NOT NULL DEFAULT '',
    file_system_type varchar(512) NOT NULL DEFAULT 'NTFS',
    total_bytes bigint NOT NULL,
    available_bytes bigint NOT NULL
);

-- dbo: msdb tables ------------------------------------------------------------------------
CREATE TABLE dbo.backupmediaset (
    media_set_id integer PRIMARY KEY,
    media_uuid uuid DEFAULT gen_random_uuid(),
    media_family_count smallint DEFAULT 1,
    name varchar(128),
    description varchar(255),
    software_name varchar(128) DEFAULT 'Microsoft SQL Server',
    software_vendor_id integer DEFAULT 4608,
    mtf_major_version smallint DEFAULT 1,
    mirror_count smallint DEFAULT 1,
    is_password_protected boolean DEFAULT false,
    is_compressed boolean DEFAULT false
);

CREATE TABLE dbo.backupmediafamily (
    media_set_id integer NOT NULL,
    family_sequence_number smallint NOT NULL DEFAULT 1,
    media_family_id uuid DEFAULT gen_random_uuid(),
    media_count integer DEFAULT 1,
    logical_device_name varchar(128),
    physical_device_name varchar(260),
    device_type smallint,
    physical_block_size integer DEFAULT 512,
    mirror smallint NOT NULL DEFAULT 0
);
CREATE INDEX backupmediafamily_media_set ON dbo.backupmediafamily (media_set_id);

CREATE TABLE dbo.backupset (
    backup_set_id integer PRIMARY KEY,
    backup_set_uuid uuid NOT NULL DEFAULT gen_random_uuid(),
    media_set_id integer NOT NULL,
    first_family_number smallint DEFAULT 1,
    first_media_number smallint DEFAULT 1,
    last_family_number smallint DEFAULT 1,
    last_media_number smallint DEFAULT 1,
    catalog_family_number smallint DEFAULT 1,
    catalog_media_number smallint DEFAULT 1,
    position integer DEFAULT 1,
    expiration_date timestamp(3),
    software_vendor_id integer DEFAULT 4608,
    name varchar(128),
    description varchar(255),
    user_name varchar(128),
    software_major_version smallint DEFAULT 11,
    software_minor_version smallint DEFAULT 0,
    software_build_version smallint DEFAULT 0,
    time_zone smallint,
    mtf_minor_version smallint DEFAULT 0,
    first_lsn numeric(25,0),
    last_lsn numeric(25,0),
    checkpoint_lsn numeric(25,0),
    database_backup_lsn numeric(25,0),
    database_creation_date timestamp(3),
    backup_start_date timestamp(3),
    backup_finish_date timestamp(3),
    type char(1),
    sort_order smallint DEFAULT 0,
    code_page smallint DEFAULT 0,
    compatibility_level smallint DEFAULT 110,
    database_version integer DEFAULT 706,
    backup_size numeric(20,0),
    database_name varchar(128),
    server_name varchar(128),
    machine_name varchar(128),
    flags integer DEFAULT 512,
    unicode_locale integer DEFAULT 1033,
    unicode_compare_style integer DEFAULT 196609,
    collation_name varchar(128) DEFAULT 'Latin1_General_CI_AS',
    is_password_protected boolean DEFAULT false,
    recovery_model varchar(60),
    has_bulk_logged_data boolean DEFAULT false,
    is_snapshot boolean DEFAULT false,
    is_readonly boolean DEFAULT false,
    is_single_user boolean DEFAULT false,
    has_backup_checksums boolean DEFAULT false,
    is_damaged boolean DEFAULT false,
    begins_log_chain boolean DEFAULT false,
    has_incomplete_metadata boolean DEFAULT false,
    is_force_offline boolean DEFAULT false,
    is_copy_only boolean DEFAULT false,
    first_recovery_fork_guid uuid,
    last_recovery_fork_guid uuid,
    fork_point_lsn numeric(25,0),
    database_guid uuid,
    family_guid uuid,
    differential_base_lsn numeric(25,0),
    differential_base_guid uuid,
    compressed_backup_size numeric(20,0)
);
CREATE INDEX backupset_finish ON dbo.backupset (backup_finish_date);
CREATE INDEX backupset_media_set ON dbo.backupset (media_set_id);

CREATE TABLE dbo.restorehistory (
    restore_history_id integer PRIMARY KEY,
    restore_date timestamp(3),
    destination_database_name varchar(128),
    user_name varchar(128),
    backup_set_id integer NOT NULL,
    restore_type char(1),
    replace boolean,
    recovery boolean,
    restart boolean DEFAULT false,
    stop_at timestamp(3),
    device_count smallint DEFAULT 1,
    stop_at_mark_name varchar(128),
    stop_before boolean DEFAULT false
);
CREATE INDEX restorehistory_date ON dbo.restorehistory (restore_date);

CREATE TABLE dbo.suspect_pages (
    database_id integer NOT NULL,
    file_id integer NOT NULL,
    page_id bigint NOT NULL,
    event_type integer NOT NULL,
    error_count integer NOT NULL,
    last_update_date timestamp(3) NOT NULL
);

-- SQL Server Agent -------------------------------------------------------------------------
CREATE TABLE dbo.sysjobs (
    job_id uuid PRIMARY KEY,
    originating_server_id integer DEFAULT 0,
    name varchar(128) NOT NULL,
    enabled smallint NOT NULL,
    description varchar(512),
    start_step_id integer DEFAULT 1,
    category_id integer DEFAULT 0,
    owner_sid bytea,
    notify_level_eventlog integer DEFAULT 2,
    notify_level_email integer DEFAULT 0,
    notify_level_netsend integer DEFAULT 0,
    notify_level_page integer DEFAULT 0,
    notify_email_operator_id integer DEFAULT 0,
    notify_netsend_operator_id integer DEFAULT 0,
    notify_page_operator_id integer DEFAULT 0,
    delete_level integer DEFAULT 0,
    date_created timestamp(3) DEFAULT '2014-01-01 00:00:00',
    date_modified timestamp(3) DEFAULT '2014-01-01 00:00:00',
    version_number integer DEFAULT 1
);

CREATE TABLE dbo.sysjobsteps (
    job_id uuid NOT NULL,
    step_id integer NOT NULL,
    step_name varchar(128) NOT NULL,
    subsystem varchar(40) NOT NULL,
    command text,
    flags integer DEFAULT 0,
    additional_parameters text,
    cmdexec_success_code integer DEFAULT 0,
    on_success_action smallint DEFAULT 1,
    on_success_step_id integer DEFAULT 0,
    on_fail_action smallint DEFAULT 2,
    on_fail_step_id integer DEFAULT 0,
    server varchar(128),
    database_name varchar(128),
    database_user_name varchar(128),
    retry_attempts integer DEFAULT 0,
    retry_interval integer DEFAULT 0,
    os_run_priority integer DEFAULT 0,
    output_file_name varchar(200),
    last_run_outcome integer DEFAULT 0,
    last_run_duration integer DEFAULT 0,
    last_run_retries integer DEFAULT 0,
    last_run_date integer DEFAULT 0,
    last_run_time integer DEFAULT 0,
    proxy_id integer,
    step_uid uuid DEFAULT gen_random_uuid(),
    PRIMARY KEY (job_id, step_id)
);

CREATE TABLE dbo.sysschedules (
    schedule_id integer PRIMARY KEY,
    schedule_uid uuid NOT NULL DEFAULT gen_random_uuid(),
    originating_server_id integer DEFAULT 0,
    name varchar(128) NOT NULL,
    owner_sid bytea,
    enabled integer NOT NULL,
    freq_type integer NOT NULL,
    freq_interval integer NOT NULL,
    freq_subday_type integer NOT NULL,
    freq_subday_interval integer NOT NULL,
    freq_relative_interval integer DEFAULT 0,
    freq_recurrence_factor integer DEFAULT 1,
    active_start_date integer DEFAULT 20140101,
    active_end_date integer DEFAULT 99991231,
    active_start_time integer NOT NULL,
    active_end_time integer DEFAULT 235959,
    date_created timestamp(3) DEFAULT '2014-01-01 00:00:00',
    date_modified timestamp(3) DEFAULT '2014-01-01 00:00:00',
    version_number integer DEFAULT 1
);

CREATE TABLE dbo.sysjobschedules (
    schedule_id integer NOT NULL,
    job_id uuid NOT NULL,
    next_run_date integer NOT NULL DEFAULT 0,
    next_run_time integer NOT NULL DEFAULT 0
);

CREATE TABLE dbo.sysjobhistory (
    instance_id integer PRIMARY KEY,
    job_id uuid NOT NULL,
    step_id integer NOT NULL,
    step_name varchar(128) NOT NULL,
    sql_message_id integer DEFAULT 0,
    sql_severity integer DEFAULT 0,
    message varchar(4000),
    run_status integer NOT NULL,
    run_date integer NOT NULL,
    run_time integer NOT NULL,
    run_duration integer NOT NULL,
    operator_id_emailed integer DEFAULT 0,
    operator_id_netsent integer DEFAULT 0,
    operator_id_paged integer DEFAULT 0,
    retries_attempted integer DEFAULT 0,
    server varchar(128) NOT NULL DEFAULT ''
);
CREATE INDEX sysjobhistory_run_date ON dbo.sysjobhistory (run_date);

-- SQL Server Agent's sessions (one per Agent start) and each job's activity in a session: a
-- job is running when its row of the newest session has start_execution_date and no
-- stop_execution_date. Empty until a job runs (the remediation stand-ins write them).
CREATE TABLE dbo.syssessions (
    session_id integer PRIMARY KEY,
    agent_start_date timestamp(3) NOT NULL
);

CREATE TABLE dbo.sysjobactivity (
    session_id integer NOT NULL,
    job_id uuid NOT NULL,
    run_requested_date timestamp(3),
    run_requested_source varchar(128),     -- 1 scheduler, 2 alerter, 3 boot, 4 user, 6 on idle
    queued_date timestamp(3),
    start_execution_date timestamp(3),
    last_executed_step_id integer,
    last_executed_step_date timestamp(3),
    stop_execution_date timestamp(3),
    job_history_id integer,                -- the job-outcome row in sysjobhistory
    next_scheduled_run_date timestamp(3),
    PRIMARY KEY (session_id, job_id)
);

CREATE TABLE dbo.sysoperators (
    id integer PRIMARY KEY,
    name varchar(128) NOT NULL,
    enabled smallint NOT NULL,
    email_address varchar(100),
    last_email_date integer DEFAULT 0,
    last_email_time integer DEFAULT 0,
    pager_address varchar(100),
    netsend_address varchar(100),
    category_id integer DEFAULT 0
);

-- sys: server catalog views, as tables ----------------------------------------------------
CREATE TABLE sys.databases (
    name varchar(128) NOT NULL,
    database_id integer PRIMARY KEY,
    source_database_id integer,
    owner_sid bytea,
    create_date timestamp(3) DEFAULT '2014-01-01 00:00:00',
    compatibility_level smallint DEFAULT 110,
    collation_name varchar(128) DEFAULT 'Latin1_General_CI_AS',
    user_access smallint DEFAULT 0,
    user_access_desc varchar(60) DEFAULT 'MULTI_USER',
    is_read_only boolean DEFAULT false,
    is_auto_close_on boolean DEFAULT false,
    is_auto_shrink_on boolean DEFAULT false,
    state smallint NOT NULL,
    state_desc varchar(60),
    is_in_standby boolean DEFAULT false,
    recovery_model smallint NOT NULL,
    recovery_model_desc varchar(60),
    page_verify_option smallint DEFAULT 2,
    page_verify_option_desc varchar(60) DEFAULT 'CHECKSUM',
    log_reuse_wait smallint DEFAULT 0,
    log_reuse_wait_desc varchar(60) DEFAULT 'NOTHING'
);

CREATE TABLE sys.master_files (
    database_id integer NOT NULL,
    file_id integer NOT NULL,
    file_guid uuid,
    type smallint NOT NULL,
    type_desc varchar(60),
    data_space_id integer DEFAULT 1,
    name varchar(128) NOT NULL,
    physical_name varchar(260) NOT NULL,
    state smallint DEFAULT 0,
    state_desc varchar(60) DEFAULT 'ONLINE',
    size integer DEFAULT 1024,
    max_size integer DEFAULT -1,
    growth integer DEFAULT 10,
    is_media_read_only boolean DEFAULT false,
    is_read_only boolean DEFAULT false,
    is_sparse boolean DEFAULT false,
    is_percent_growth boolean DEFAULT true,
    is_name_reserved boolean DEFAULT false,
    PRIMARY KEY (database_id, file_id)
);

CREATE TABLE sys.database_mirroring (
    database_id integer PRIMARY KEY,
    mirroring_guid uuid,
    mirroring_state smallint,
    mirroring_state_desc varchar(60),
    mirroring_role smallint,
    mirroring_role_desc varchar(60),
    mirroring_role_sequence integer,
    mirroring_safety_level smallint,
    mirroring_safety_level_desc varchar(60),
    mirroring_safety_sequence integer,
    mirroring_partner_name varchar(128),
    mirroring_partner_instance varchar(128),
    mirroring_witness_name varchar(128),
    mirroring_witness_state smallint,
    mirroring_witness_state_desc varchar(60),
    mirroring_failover_lsn numeric(25,0),
    mirroring_connection_timeout integer,
    mirroring_redo_queue integer,
    mirroring_redo_queue_type varchar(60),
    mirroring_end_of_log_lsn numeric(25,0),
    mirroring_replication_lsn numeric(25,0)
);

-- public: the T-SQL functions and bit operators (lab-schema.md section 4) ------------------
-- Any login may read the clock and SERVERPROPERTY, as on SQL Server: these run as the owner.
CREATE FUNCTION public.sysdatetime() RETURNS timestamp(6)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT (COALESCE(i.clock_utc AT TIME ZONE 'UTC', statement_timestamp())
            AT TIME ZONE i.time_zone)::timestamp(6)
    FROM lab.instance i
$$;

CREATE FUNCTION public.sysutcdatetime() RETURNS timestamp(6)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT COALESCE(i.clock_utc, statement_timestamp() AT TIME ZONE 'UTC')::timestamp(6)
    FROM lab.instance i
$$;

CREATE FUNCTION public.serverproperty(property text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT CASE lower(property)
             WHEN 'machinename' THEN i.machine_name
             WHEN 'computernamephysicalnetbios' THEN i.computer_name_physical_netbios
             WHEN 'servername' THEN i.server_name
             WHEN 'instancename' THEN i.instance_name
             WHEN 'productversion' THEN i.product_version
             WHEN 'productlevel' THEN i.product_level
             WHEN 'edition' THEN i.edition
             WHEN 'engineedition' THEN i.engine_edition::text
             WHEN 'isclustered' THEN i.is_clustered::text
           END
    FROM lab.instance i
$$;

CREATE FUNCTION public.db_name() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT i.database_name::text FROM lab.instance i
$$;

-- Server-scope only (securable and class NULL): 1 when the login holds the permission.
CREATE FUNCTION public.has_perms_by_name(securable text, securable_class text, permission text)
RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT CASE WHEN securable IS NULL AND securable_class IS NULL AND EXISTS (
                SELECT 1 FROM lab.server_permission p
                WHERE p.grantee = session_user AND upper(p.permission_name) = upper(permission))
           THEN 1 ELSE 0 END
$$;

-- sys.master_files shows its rows only to a login with CREATE DATABASE, ALTER ANY DATABASE or
-- VIEW ANY DEFINITION; to any other it is silently empty (the owner, loading it, sees all).
ALTER TABLE sys.master_files ENABLE ROW LEVEL SECURITY;
CREATE POLICY metadata_visibility ON sys.master_files FOR SELECT USING (
    public.has_perms_by_name(NULL, NULL, 'VIEW ANY DEFINITION') = 1
    OR public.has_perms_by_name(NULL, NULL, 'ALTER ANY DATABASE') = 1
    OR public.has_perms_by_name(NULL, NULL, 'CREATE ANY DATABASE') = 1);

-- The volume of a database file: the lab.volume row whose mount point is the longest
-- case-insensitive prefix of the file's physical_name. Runs with the caller's rights, so it
-- needs what stands in for VIEW SERVER STATE (USAGE on lab, SELECT on lab.volume).
CREATE FUNCTION sys.dm_os_volume_stats(p_database_id integer, p_file_id integer)
RETURNS TABLE (database_id integer, file_id integer, volume_mount_point varchar(512),
               volume_id varchar(512), logical_volume_name varchar(512),
               file_system_type varchar(512), total_bytes bigint, available_bytes bigint,
               supports_compression boolean, supports_alternate_streams boolean,
               supports_sparse_files boolean, is_read_only boolean, is_compressed boolean)
LANGUAGE sql STABLE AS $$
    SELECT f.database_id, f.file_id, v.volume_mount_point, v.volume_id, v.logical_volume_name,
           v.file_system_type, v.total_bytes, v.available_bytes,
           true, true, true, false, false
    FROM sys.master_files f
    JOIN lab.volume v
      ON left(lower(f.physical_name), length(v.volume_mount_point)) = lower(v.volume_mount_point)
    WHERE f.database_id = p_database_id AND f.file_id = p_file_id
    ORDER BY length(v.volume_mount_point) DESC
    LIMIT 1
$$;

-- bit = 0, bit = 1, bit <> 0: T-SQL compares a bit with an int as ints.
CREATE FUNCTION public.lab_bit_eq_int(boolean, integer) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT $1::integer = $2 $$;
CREATE FUNCTION public.lab_bit_ne_int(boolean, integer) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT $1::integer <> $2 $$;
CREATE FUNCTION public.lab_int_eq_bit(integer, boolean) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT $1 = $2::integer $$;
CREATE FUNCTION public.lab_int_ne_bit(integer, boolean) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT $1 <> $2::integer $$;

CREATE OPERATOR public.= (LEFTARG = boolean, RIGHTARG = integer,
                          FUNCTION = public.lab_bit_eq_int);
CREATE OPERATOR public.= (LEFTARG = integer, RIGHTARG = boolean,
                          FUNCTION = public.lab_int_eq_bit, COMMUTATOR = OPERATOR(public.=));
CREATE OPERATOR public.<> (LEFTARG = boolean, RIGHTARG = integer,
                           FUNCTION = public.lab_bit_ne_int,
                           NEGATOR = OPERATOR(public.=));
CREATE OPERATOR public.<> (LEFTARG = integer, RIGHTARG = boolean,
                           FUNCTION = public.lab_int_ne_bit,
                           COMMUTATOR = OPERATOR(public.<>), NEGATOR = OPERATOR(public.=));
