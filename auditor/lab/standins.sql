-- Remediation stand-ins [LAB]: what SQL Server does for sp_start_job, BACKUP and RESTORE
-- VERIFYONLY, reached the way the real statements are (the ODBC {CALL ...} escape, and a lab
-- variant of each statement in auditor/remediate/sql/*.lab.sql). They write the rows SQL Server
-- writes (backupset, backupmediaset, backupmediafamily, sysjobhistory) and raise the errors it
-- raises. lab.fault makes an action fail, hang or be denied. Run after schema.sql.

CREATE TABLE lab.fault (
    action varchar(64) NOT NULL,          -- sp_start_job, backup_database, backup_log, verify_backup
    target varchar(128),                  -- a job or database name (any letter case); NULL: all
    mode varchar(8) NOT NULL CHECK (mode IN ('fail', 'hang', 'deny')),
    message text
);

CREATE FUNCTION lab.fault_for(p_action text, p_target text) RETURNS lab.fault
LANGUAGE sql STABLE AS $$
    SELECT * FROM lab.fault f
    WHERE f.action = p_action AND (f.target IS NULL OR lower(f.target) = lower(p_target))
    LIMIT 1
$$;

-- A fault, as SQL Server would show it: deny -> 42501 (229/262), fail -> an error, hang -> sleep
-- until the client's statement timeout (or deadline) ends it.
CREATE FUNCTION lab.apply_fault(p_action text, p_target text, p_what text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE f lab.fault;
BEGIN
    f := lab.fault_for(p_action, p_target);
    IF f.mode IS NULL THEN RETURN; END IF;
    IF f.mode = 'deny' THEN
        RAISE EXCEPTION '%', COALESCE(f.message, format(
            'The EXECUTE permission was denied on the object ''%s''. (229)', p_what))
            USING ERRCODE = '42501';
    ELSIF f.mode = 'hang' THEN
        PERFORM pg_sleep(3600);
    ELSIF f.mode = 'fail' AND p_action <> 'sp_start_job' THEN
        RAISE EXCEPTION '% (3013)', COALESCE(f.message, p_what || ' is terminating abnormally.');
    END IF;
END $$;

-- Truncated, not rounded: a stopped clock must not put a backup's finish after "now".
CREATE FUNCTION lab.local_now() RETURNS timestamp(3)
LANGUAGE sql STABLE AS $$ SELECT date_trunc('milliseconds', public.sysdatetime())::timestamp(3) $$;

CREATE FUNCTION lab.zone_units() RETURNS smallint
LANGUAGE sql STABLE AS $$
    SELECT round(extract(epoch FROM public.sysdatetime() - public.sysutcdatetime()) / 900)::smallint
$$;

-- One completed backup set of a database, as BACKUP writes it: media set, media family and
-- backupset with LSNs that continue the database's chain. Returns backup_set_id.
CREATE FUNCTION lab.record_backup(p_db text, p_type char, p_device text, p_checksum boolean,
                                  p_compressed boolean, p_copy_only boolean DEFAULT false)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    d sys.databases;
    top_lsn numeric(25,0);
    prev_log numeric(25,0);
    full_first numeric(25,0);
    first numeric(25,0);
    set_id integer;
    media integer;
    guid uuid;
    now_local timestamp(3) := lab.local_now();
BEGIN
    SELECT * INTO d FROM sys.databases WHERE lower(name) = lower(p_db);
    SELECT COALESCE(max(last_lsn), 10000000000000000) INTO top_lsn
        FROM dbo.backupset WHERE lower(database_name) = lower(p_db);
    SELECT b.first_lsn INTO full_first FROM dbo.backupset b
        WHERE lower(b.database_name) = lower(p_db) AND b.type = 'D' AND NOT b.is_copy_only
        ORDER BY b.backup_set_id DESC LIMIT 1;
    SELECT b.last_lsn INTO prev_log FROM dbo.backupset b
        WHERE lower(b.database_name) = lower(p_db) AND b.type = 'L' AND NOT b.is_copy_only
        ORDER BY b.backup_set_id DESC LIMIT 1;
    first := CASE WHEN p_type = 'L' THEN COALESCE(prev_log, full_first, top_lsn + 1)
                  ELSE top_lsn + 1 END;
    SELECT COALESCE(b.database_guid, gen_random_uuid()) INTO guid FROM dbo.backupset b
        WHERE lower(b.database_name) = lower(p_db) ORDER BY b.backup_set_id DESC LIMIT 1;
    SELECT GREATEST(COALESCE((SELECT max(backup_set_id) FROM dbo.backupset), 0),
                    1000000) + 1 INTO set_id;
    SELECT GREATEST(COALESCE((SELECT max(media_set_id) FROM dbo.backupset), 0),
                    COALESCE((SELECT max(media_set_id) FROM dbo.backupmediaset), 0),
                    COALESCE((SELECT max(media_set_id) FROM dbo.backupmediafamily), 0),
                    1000000) + 1 INTO media;
    INSERT INTO dbo.backupmediaset (media_set_id, is_compressed) VALUES (media, p_compressed);
    INSERT INTO dbo.backupmediafamily (media_set_id, physical_device_name, device_type)
        VALUES (media, p_device, 2);
    INSERT INTO dbo.backupset (
        backup_set_id, media_set_id, name, user_name, database_name, server_name, machine_name,
        type, backup_start_date, backup_finish_date, time_zone, first_lsn, last_lsn,
        checkpoint_lsn, database_backup_lsn, backup_size, compressed_backup_size,
        recovery_model, has_backup_checksums, is_damaged, is_copy_only, database_guid,
        family_guid, begins_log_chain)
    SELECT set_id, media, NULL, session_user, d.name, i.server_name, i.machine_name, p_type,
           now_local, now_local, lab.zone_units(), first, top_lsn + 100,
           CASE WHEN p_type = 'D' THEN top_lsn + 1 ELSE full_first END,
           CASE WHEN p_type = 'D' THEN 0 ELSE full_first END,
           8388608, CASE WHEN p_compressed THEN 2097152 ELSE 8388608 END,
           replace(d.recovery_model_desc, '_', '-'), p_checksum, false, p_copy_only, guid, guid,
           p_type = 'L' AND prev_log IS NULL
    FROM lab.instance i;
    PERFORM lab.write_backup_file(set_id, p_device);
    RETURN set_id;
END $$;

-- BACKUP DATABASE / BACKUP LOG @db TO DISK = @file WITH CHECKSUM[, COMPRESSION].
CREATE FUNCTION dbo.lab_backup(p_db varchar, p_file varchar, p_type char, p_compressed boolean)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    d sys.databases;
    what text := CASE WHEN p_type = 'L' THEN 'BACKUP LOG' ELSE 'BACKUP DATABASE' END;
    set_id integer;
BEGIN
    -- what sys.dm_exec_requests shows of this session while the backup runs (lab.running_backups)
    PERFORM set_config('application_name', 'BACKUP ' || md5(lower(p_db)), true);
    PERFORM lab.apply_fault(CASE WHEN p_type = 'L' THEN 'backup_log' ELSE 'backup_database' END,
                            p_db, what);
    SELECT * INTO d FROM sys.databases WHERE lower(name) = lower(p_db);
    IF d.name IS NULL THEN
        RAISE EXCEPTION 'Database ''%'' does not exist. Make sure that the name is entered correctly. (911)', p_db;
    END IF;
    IF d.state <> 0 THEN
        RAISE EXCEPTION 'Database ''%'' cannot be opened because it is %. (942)', d.name, lower(d.state_desc);
    END IF;
    IF EXISTS (SELECT 1 FROM sys.database_mirroring m WHERE m.database_id = d.database_id
               AND m.mirroring_role = 2) THEN
        RAISE EXCEPTION 'Database ''%'' is a mirror database and cannot be backed up. (3104)', d.name;
    END IF;
    IF p_type = 'L' AND d.recovery_model = 3 THEN
        RAISE EXCEPTION 'The statement BACKUP LOG is not allowed while the recovery model is SIMPLE. (4208)';
    END IF;
    IF p_type = 'L' AND NOT EXISTS (SELECT 1 FROM dbo.backupset b WHERE lower(b.database_name)
            = lower(p_db) AND b.type = 'D' AND NOT b.is_copy_only) THEN
        RAISE EXCEPTION 'BACKUP LOG cannot be performed because there is no current database backup. (4214)';
    END IF;
    set_id := lab.record_backup(d.name, p_type, p_file, true, p_compressed);
    RAISE NOTICE '% successfully processed 1024 pages in 0.100 seconds (80.000 MB/sec).', what;
    RETURN set_id;
END $$;

-- sys.dm_exec_requests for BACKUP: other sessions of this instance inside dbo.lab_backup,
-- by the md5 of the database's lower-cased name (application_name holds 63 bytes at most).
CREATE FUNCTION lab.running_backups() RETURNS TABLE (database_key text, pid integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT substr(a.application_name, 8), a.pid FROM pg_stat_activity a
    WHERE a.datname = current_database() AND a.state = 'active'
      AND a.application_name LIKE 'BACKUP %' AND a.pid <> pg_backend_pid()
$$;

-- RESTORE VERIFYONLY FROM DISK = @file WITH CHECKSUM: the file must be a backup this instance
-- wrote, undamaged, with checksums.
CREATE FUNCTION dbo.lab_restore_verifyonly(p_file varchar) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE b dbo.backupset;
BEGIN
    PERFORM lab.apply_fault('verify_backup', p_file, 'VERIFY DATABASE');
    SELECT s.* INTO b FROM dbo.backupset s JOIN dbo.backupmediafamily f
        ON f.media_set_id = s.media_set_id WHERE f.physical_device_name = p_file
        ORDER BY s.backup_set_id DESC LIMIT 1;
    IF b.backup_set_id IS NULL THEN
        RAISE EXCEPTION 'Cannot open backup device ''%''. Operating system error 2(The system cannot find the file specified.). (3201)', p_file;
    END IF;
    IF b.is_damaged OR NOT b.has_backup_checksums THEN
        RAISE EXCEPTION 'The backup set on file 1 is not valid: checksum missing or damaged. (3189)';
    END IF;
    RAISE NOTICE 'The backup set on file 1 is valid.';
    RETURN b.backup_set_id;
END $$;

-- sp_start_job @job_name: runs the job's steps as the Agent would and writes its history.
-- Steps the lab understands: Ola Hallengren's DatabaseBackup (@Databases, @Directory,
-- @BackupType, @CheckSum) and plain BACKUP DATABASE/LOG ... TO DISK = N'...'. Others fail the
-- run ("not simulated"), so nothing is called a success that the lab did not do.
CREATE FUNCTION lab.job_databases(p_spec text) RETURNS SETOF text
LANGUAGE sql STABLE AS $$
    SELECT d.name FROM sys.databases d
    WHERE d.state = 0 AND d.name <> 'tempdb'
      AND NOT EXISTS (SELECT 1 FROM sys.database_mirroring m
                      WHERE m.database_id = d.database_id AND m.mirroring_role = 2)
      AND (upper(p_spec) = 'ALL_DATABASES'
           OR (upper(p_spec) = 'USER_DATABASES' AND d.name NOT IN ('master', 'model', 'msdb'))
           OR (upper(p_spec) = 'SYSTEM_DATABASES' AND d.name IN ('master', 'model', 'msdb'))
           OR lower(d.name) IN (SELECT lower(trim(x)) FROM unnest(string_to_array(p_spec, ',')) x))
    ORDER BY d.name
$$;

CREATE FUNCTION lab.run_step(p_command text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    spec text; dir text; kind text; checksum boolean; m text[]; db text; done integer := 0;
    code char; stamp text := to_char(lab.local_now(), 'YYYYMMDD_HH24MISS');
    inst text;
BEGIN
    SELECT replace(server_name, '\', '$') INTO inst FROM lab.instance;
    IF p_command ~* 'DatabaseBackup' THEN
        spec := substring(p_command FROM '@Databases\s*=\s*N?''([^'']*)''');
        dir := substring(p_command FROM '@Directory\s*=\s*N?''([^'']*)''');
        kind := upper(COALESCE(substring(p_command FROM '@BackupType\s*=\s*N?''([^'']*)'''), 'FULL'));
        checksum := p_command ~* '@CheckSum\s*=\s*N?''Y''';
        code := CASE kind WHEN 'LOG' THEN 'L' WHEN 'DIFF' THEN 'I' ELSE 'D' END;
        FOR db IN SELECT lab.job_databases(spec) LOOP
            CONTINUE WHEN code = 'L' AND EXISTS (SELECT 1 FROM sys.databases x
                WHERE x.name = db AND x.recovery_model = 3);
            PERFORM lab.record_backup(db, code, format('%s\%s\%s\%s\%s_%s_%s_%s.%s', dir, inst,
                db, kind, inst, db, kind, stamp, CASE code WHEN 'L' THEN 'trn' ELSE 'bak' END),
                checksum, false);
            done := done + 1;
        END LOOP;
        RETURN format('DatabaseBackup: %s backup(s) of %s', done, spec);
    END IF;
    FOR m IN SELECT regexp_matches(p_command,
            'BACKUP\s+(DATABASE|LOG)\s+\[?([^\]\s]+)\]?\s+TO\s+DISK\s*=\s*N?''([^'']+)''([^;]*)', 'gi') LOOP
        PERFORM lab.record_backup(m[2], CASE WHEN upper(m[1]) = 'LOG' THEN 'L' ELSE 'D' END, m[3],
                                  m[4] ~* '\mCHECKSUM\M', m[4] ~* '\mCOMPRESSION\M',
                                  m[4] ~* '\mCOPY_ONLY\M');
        done := done + 1;
    END LOOP;
    IF done = 0 THEN
        RAISE EXCEPTION 'lab: this job step is not simulated (only DatabaseBackup and BACKUP ... TO DISK are)';
    END IF;
    RETURN format('%s backup statement(s) processed', done);
END $$;

CREATE FUNCTION lab.agent_date(t timestamp) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT to_char(t, 'YYYYMMDD')::integer $$;
CREATE FUNCTION lab.agent_time(t timestamp) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT to_char(t, 'HH24MISS')::integer $$;

CREATE FUNCTION lab.history(p_job uuid, p_step integer, p_name text, p_status integer,
                            p_message text) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO dbo.sysjobhistory (instance_id, job_id, step_id, step_name, message, run_status,
                                   run_date, run_time, run_duration, server)
    SELECT COALESCE((SELECT max(instance_id) FROM dbo.sysjobhistory), 0) + 1, p_job, p_step,
           p_name, left(p_message, 4000), p_status, lab.agent_date(lab.local_now()),
           lab.agent_time(lab.local_now()), 0, i.server_name
    FROM lab.instance i
$$;

-- The Agent's session (syssessions: one per Agent start) and a job's activity row in it, as
-- the Agent keeps them: started (start_execution_date, stop NULL: running), then stopped with
-- the job-outcome row's id.
CREATE FUNCTION lab.agent_session() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE s integer;
BEGIN
    SELECT max(session_id) INTO s FROM dbo.syssessions;
    IF s IS NULL THEN
        INSERT INTO dbo.syssessions VALUES (1, lab.local_now()) RETURNING session_id INTO s;
    END IF;
    RETURN s;
END $$;

CREATE FUNCTION lab.job_started(p_job uuid, p_source text) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO dbo.sysjobactivity (session_id, job_id, run_requested_date, run_requested_source,
                                    start_execution_date)
    VALUES (lab.agent_session(), p_job, lab.local_now(), p_source, lab.local_now())
    ON CONFLICT (session_id, job_id) DO UPDATE SET
        run_requested_date = EXCLUDED.run_requested_date,
        run_requested_source = EXCLUDED.run_requested_source,
        start_execution_date = EXCLUDED.start_execution_date, last_executed_step_id = NULL,
        last_executed_step_date = NULL, stop_execution_date = NULL, job_history_id = NULL
$$;

CREATE FUNCTION lab.job_running(p_job uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM dbo.sysjobactivity a
                   WHERE a.job_id = p_job AND a.start_execution_date IS NOT NULL
                     AND a.stop_execution_date IS NULL
                     AND a.session_id = (SELECT max(session_id) FROM dbo.sysjobactivity))
$$;

-- The job's steps as the Agent runs them, their history rows and the job-outcome row; the
-- activity row is stopped. A 'fail' fault fails the first step. Returns the outcome row's id.
CREATE FUNCTION lab.execute_job(j dbo.sysjobs, f lab.fault) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE s dbo.sysjobsteps; outcome integer := 1; said text; last_step text := ''; done integer;
BEGIN
    FOR s IN SELECT * FROM dbo.sysjobsteps WHERE job_id = j.job_id ORDER BY step_id LOOP
        last_step := format('%s (%s)', s.step_id, s.step_name);
        UPDATE dbo.sysjobactivity SET last_executed_step_id = s.step_id,
               last_executed_step_date = lab.local_now()
        WHERE job_id = j.job_id AND session_id = lab.agent_session();
        BEGIN
            IF f.mode = 'fail' THEN
                RAISE EXCEPTION '%', COALESCE(f.message, 'lab: the step failed');
            END IF;
            said := lab.run_step(s.command);
            PERFORM lab.history(j.job_id, s.step_id, s.step_name, 1, said);
        EXCEPTION WHEN OTHERS THEN
            PERFORM lab.history(j.job_id, s.step_id, s.step_name, 0, SQLERRM);
            outcome := 0;
            EXIT;
        END;
    END LOOP;
    PERFORM lab.history(j.job_id, 0, '(Job outcome)', outcome, format(
        'The job %s.  The Job was invoked by User %s.  The last step to run was step %s.',
        CASE WHEN outcome = 1 THEN 'succeeded' ELSE 'failed' END, session_user, last_step));
    done := (SELECT max(instance_id) FROM dbo.sysjobhistory);
    UPDATE dbo.sysjobactivity SET stop_execution_date = lab.local_now(), job_history_id = done
    WHERE job_id = j.job_id AND session_id = lab.agent_session();
    RETURN done;
END $$;

-- Every sp_start_job request that got past the permission check and the running-job check:
-- the lab's record of calls (tests count them).
CREATE TABLE lab.agent_request (
    request_id serial PRIMARY KEY,
    job_name varchar(128) NOT NULL,
    requested_by text NOT NULL DEFAULT session_user,
    requested_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE FUNCTION dbo.sp_start_job(job_name varchar) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE j dbo.sysjobs; f lab.fault;
BEGIN
    PERFORM lab.apply_fault('sp_start_job', job_name, 'sp_start_job');
    SELECT * INTO j FROM dbo.sysjobs WHERE name = job_name;
    IF j.job_id IS NULL THEN
        RAISE EXCEPTION 'The specified @job_name (''%'') does not exist. (14262)', job_name;
    END IF;
    IF lab.job_running(j.job_id) THEN
        RAISE EXCEPTION 'SQLServerAgent Error: Request to run job % (from User %) refused because the job is already running from a request by User %. (22022)',
            j.name, session_user, 'SQLAgent - Job invocation engine';
    END IF;
    INSERT INTO lab.agent_request (job_name) VALUES (j.name);
    RAISE NOTICE 'Job ''%'' started successfully.', j.name;
    PERFORM lab.job_started(j.job_id, '4');
    f := lab.fault_for('sp_start_job', job_name);
    IF f.mode = 'hang' THEN
        RETURN 0;  -- the job "runs" and never finishes: no outcome row, no backup
    END IF;
    PERFORM lab.execute_job(j, f);
    RETURN 0;
END $$;

-- A run the Agent started on its own (its schedule), for tests: begin_job leaves it running,
-- finish_job runs its steps and stops it, as the Agent would later.
CREATE FUNCTION lab.begin_job(p_name text) RETURNS void
LANGUAGE sql AS $$
    SELECT lab.job_started(job_id, '1') FROM dbo.sysjobs WHERE name = p_name
$$;

CREATE FUNCTION lab.finish_job(p_name text) RETURNS integer
LANGUAGE sql AS $$
    SELECT lab.execute_job(j, NULL::lab.fault) FROM dbo.sysjobs j WHERE j.name = p_name
$$;

-- Backup files on the lab's shares [LAB]. BACKUP writes a file another instance can read; in
-- the lab the file is its header (what RESTORE HEADERONLY and FILELISTONLY read: the source's
-- names, guids, LSNs, checksum flag and file list) in the cluster's data directory, named by
-- the path it was written to, so the restore-test instance reads only what the file holds.
CREATE FUNCTION lab.share_file(p_path text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT current_setting('data_directory') || '/lab_share_' || md5(lower(p_path)) || '.hex'
$$;

CREATE FUNCTION lab.file_list(p_db text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(
        (SELECT jsonb_agg(jsonb_build_object('logical_name', f.name, 'physical_name',
                f.physical_name, 'type', f.type, 'file_id', f.file_id,
                'size', f.size::bigint * 8192) ORDER BY f.file_id)
         FROM sys.master_files f JOIN sys.databases d ON d.database_id = f.database_id
         WHERE lower(d.name) = lower(p_db)),
        -- a recording without the database's files: the two every database has
        jsonb_build_array(
            jsonb_build_object('logical_name', p_db, 'physical_name',
                'D:\MSSQL\DATA\' || p_db || '.mdf', 'type', 0, 'file_id', 1, 'size', 8388608),
            jsonb_build_object('logical_name', p_db || '_log', 'physical_name',
                'L:\MSSQL\LOG\' || p_db || '_log.ldf', 'type', 1, 'file_id', 2,
                'size', 8388608)))
$$;

CREATE FUNCTION lab.write_backup_file(p_set_id integer, p_device text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE header jsonb;
BEGIN
    SELECT to_jsonb(b) || jsonb_build_object('files', lab.file_list(b.database_name))
        INTO header FROM dbo.backupset b WHERE b.backup_set_id = p_set_id;
    EXECUTE format('COPY (SELECT %L) TO %L',
                   encode(convert_to(header::text, 'UTF8'), 'hex'), lab.share_file(p_device));
END $$;

-- The newest full of each database on a disk device is still on the share (retention keeps
-- at least the last set), so a restore test can read it. Called after an estate is loaded.
CREATE FUNCTION lab.materialise_backups() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE r record; n integer := 0;
BEGIN
    FOR r IN SELECT DISTINCT ON (lower(b.database_name)) b.backup_set_id, f.physical_device_name
             FROM dbo.backupset b JOIN dbo.backupmediafamily f ON f.media_set_id = b.media_set_id
             WHERE b.type = 'D' AND f.device_type = 2
             ORDER BY lower(b.database_name), b.backup_set_id DESC LOOP
        PERFORM lab.write_backup_file(r.backup_set_id, r.physical_device_name);
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;

CREATE FUNCTION lab.read_backup_file(p_file text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE raw text;
BEGIN
    raw := pg_read_file(lab.share_file(p_file), 0, 100000000, true);
    IF raw IS NULL THEN
        RAISE EXCEPTION 'Cannot open backup device ''%''. Operating system error 2(The system cannot find the file specified.). (3201)', p_file;
    END IF;
    RETURN convert_from(decode(btrim(raw, E'\n'), 'hex'), 'UTF8')::jsonb;
END $$;

-- RESTORE FILELISTONLY FROM DISK = @file WITH CHECKSUM.
CREATE FUNCTION dbo.lab_restore_filelistonly(p_file varchar)
RETURNS TABLE ("LogicalName" varchar, "PhysicalName" varchar, "Type" char(1), "FileId" integer,
               "Size" numeric(20, 0))
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE h jsonb;
BEGIN
    PERFORM lab.apply_fault('restore_filelistonly', p_file, 'RESTORE FILELIST');
    h := lab.read_backup_file(p_file);
    RETURN QUERY SELECT (f->>'logical_name')::varchar, (f->>'physical_name')::varchar,
                        (CASE WHEN (f->>'type')::int = 1 THEN 'L' ELSE 'D' END)::char(1),
                        (f->>'file_id')::integer, COALESCE((f->>'size')::numeric, 0)
                 FROM jsonb_array_elements(h->'files') f;
END $$;

-- RESTORE DATABASE @db FROM DISK = @file WITH CHECKSUM, RECOVERY, MOVE ? TO ? (one pair per
-- file): the new database, its files, the backup set copied into this msdb (with the source's
-- names, as RESTORE does) and the restorehistory row. Returns restore_history_id.
CREATE FUNCTION dbo.lab_restore_database(p_db varchar, p_file varchar, p_moves varchar[])
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    h jsonb; f jsonb; i integer; moved text; new_id integer; set_id integer; media integer;
    hist integer; now_local timestamp(3) := lab.local_now();
BEGIN
    h := lab.read_backup_file(p_file);
    PERFORM lab.apply_fault('restore_database', h->>'database_name', 'RESTORE DATABASE');
    IF (h->>'is_damaged')::boolean THEN
        RAISE EXCEPTION 'RESTORE detected an error on page (1:1) in database "%" as read from the backup set. (3183)', p_db;
    END IF;
    IF NOT (h->>'has_backup_checksums')::boolean THEN
        RAISE EXCEPTION 'RESTORE WITH CHECKSUM cannot be specified because the backup set does not contain checksum information. (3187)';
    END IF;
    IF EXISTS (SELECT 1 FROM sys.databases WHERE lower(name) = lower(p_db)) THEN
        RAISE EXCEPTION 'Database ''%'' already exists. Choose a different database name. (1801)', p_db;
    END IF;
    FOR i IN 1 .. COALESCE(array_length(p_moves, 1), 0) / 2 LOOP
        IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements(h->'files') x
                       WHERE lower(x->>'logical_name') = lower(p_moves[2 * i - 1])) THEN
            RAISE EXCEPTION 'Logical file ''%'' is not part of database ''%''. Use RESTORE FILELISTONLY to list the logical file names. (3234)', p_moves[2 * i - 1], p_db;
        END IF;
    END LOOP;
    SELECT COALESCE(max(database_id), 4) + 1 INTO new_id FROM sys.databases;
    INSERT INTO sys.databases (name, database_id, state, state_desc, recovery_model,
                               recovery_model_desc, create_date)
    VALUES (p_db, new_id, 0, 'ONLINE',
            CASE h->>'recovery_model' WHEN 'SIMPLE' THEN 3 WHEN 'BULK-LOGGED' THEN 2 ELSE 1 END,
            replace(COALESCE(h->>'recovery_model', 'FULL'), '-', '_'), now_local);
    FOR f IN SELECT * FROM jsonb_array_elements(h->'files') LOOP
        moved := NULL;
        FOR i IN 1 .. COALESCE(array_length(p_moves, 1), 0) / 2 LOOP
            IF lower(p_moves[2 * i - 1]) = lower(f->>'logical_name') THEN
                moved := p_moves[2 * i];
            END IF;
        END LOOP;
        IF moved IS NULL THEN  -- the source's path belongs to another server
            RAISE EXCEPTION 'Directory lookup for the file "%" failed with the operating system error 3(The system cannot find the path specified.). (5133)', f->>'physical_name';
        END IF;
        INSERT INTO sys.master_files (database_id, file_id, type, type_desc, name, physical_name)
        VALUES (new_id, (f->>'file_id')::integer, (f->>'type')::smallint,
                CASE WHEN (f->>'type')::int = 1 THEN 'LOG' ELSE 'ROWS' END, f->>'logical_name',
                moved);
    END LOOP;
    SELECT GREATEST(COALESCE((SELECT max(backup_set_id) FROM dbo.backupset), 0), 1000000) + 1
        INTO set_id;
    SELECT GREATEST(COALESCE((SELECT max(media_set_id) FROM dbo.backupset), 0),
                    COALESCE((SELECT max(media_set_id) FROM dbo.backupmediaset), 0),
                    COALESCE((SELECT max(media_set_id) FROM dbo.backupmediafamily), 0),
                    1000000) + 1 INTO media;
    INSERT INTO dbo.backupmediaset (media_set_id, is_compressed) VALUES (media, false);
    INSERT INTO dbo.backupmediafamily (media_set_id, physical_device_name, device_type)
        VALUES (media, p_file, 2);
    INSERT INTO dbo.backupset (
        backup_set_id, media_set_id, user_name, database_name, server_name, machine_name, type,
        backup_start_date, backup_finish_date, time_zone, first_lsn, last_lsn, checkpoint_lsn,
        database_backup_lsn, backup_size, compressed_backup_size, recovery_model,
        has_backup_checksums, is_damaged, is_copy_only, database_guid, family_guid)
    VALUES (set_id, media, h->>'user_name', h->>'database_name', h->>'server_name',
            h->>'machine_name', h->>'type', (h->>'backup_start_date')::timestamp,
            (h->>'backup_finish_date')::timestamp, (h->>'time_zone')::smallint,
            (h->>'first_lsn')::numeric, (h->>'last_lsn')::numeric,
            (h->>'checkpoint_lsn')::numeric, (h->>'database_backup_lsn')::numeric,
            (h->>'backup_size')::numeric, (h->>'compressed_backup_size')::numeric,
            h->>'recovery_model', true, false, COALESCE((h->>'is_copy_only')::boolean, false),
            (h->>'database_guid')::uuid, (h->>'family_guid')::uuid);
    SELECT COALESCE(max(restore_history_id), 0) + 1 INTO hist FROM dbo.restorehistory;
    INSERT INTO dbo.restorehistory (restore_history_id, restore_date, destination_database_name,
                                    user_name, backup_set_id, restore_type, replace, recovery)
    VALUES (hist, now_local, p_db, session_user, set_id, 'D', false, true);
    RAISE NOTICE 'RESTORE DATABASE successfully processed 1024 pages in 0.100 seconds (80.000 MB/sec).';
    RETURN hist;
END $$;

-- DBCC CHECKDB (@db) WITH NO_INFOMSGS: silent when clean; a `fail` fault is a consistency error.
CREATE FUNCTION dbo.lab_checkdb(p_db varchar) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE f lab.fault;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM sys.databases WHERE lower(name) = lower(p_db)) THEN
        RAISE EXCEPTION 'Could not find database ''%''. The database either does not exist, or was dropped before a statement tried to use it. (2520)', p_db;
    END IF;
    f := lab.fault_for('checkdb', p_db);
    IF f.mode = 'fail' THEN
        RAISE EXCEPTION '%', COALESCE(f.message, format('CHECKDB found 0 allocation errors and 1 consistency errors in database ''%s''. (8989)', p_db));
    END IF;
    PERFORM lab.apply_fault('checkdb', p_db, 'DBCC CHECKDB');
    RETURN 0;
END $$;

-- DROP DATABASE (the name quoted on the server with QUOTENAME): restorehistory stays.
CREATE FUNCTION dbo.lab_drop_database(p_db varchar) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE d integer;
BEGIN
    PERFORM lab.apply_fault('drop_database', p_db, 'DROP DATABASE');
    SELECT database_id INTO d FROM sys.databases WHERE lower(name) = lower(p_db);
    IF d IS NULL THEN
        RAISE EXCEPTION 'Cannot drop the database ''%'', because it does not exist or you do not have permission. (3701)', p_db;
    END IF;
    DELETE FROM sys.master_files WHERE database_id = d;
    DELETE FROM sys.databases WHERE database_id = d;
    RETURN true;
END $$;

-- Permission functions [LAB] for `auditor preflight --remediation`, answering the same T-SQL
-- text (IS_SRVROLEMEMBER(?), IS_ROLEMEMBER(?), HAS_PERMS_BY_NAME(?, 'DATABASE', ?),
-- HAS_PERMS_BY_NAME(NULL, NULL, ?)) for the session's login: sysadmin is a PostgreSQL superuser,
-- dbcreator and CREATE (ANY) DATABASE are CREATEDB, a database or msdb role is membership of the
-- PostgreSQL role of that name (the lab has one msdb and one set of databases per instance, so
-- db_backupoperator holds for every database of it). NULL, as SQL Server answers, for an unknown
-- role, database or permission.
CREATE FUNCTION lab.login_is(p_what text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT CASE p_what WHEN 'super' THEN r.rolsuper ELSE r.rolsuper OR r.rolcreatedb END
    FROM pg_catalog.pg_roles r WHERE r.rolname = session_user
$$;

CREATE FUNCTION lab.login_in(p_role text) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = p_role)
                THEN NULL
                WHEN lab.login_is('super') OR pg_catalog.pg_has_role(session_user, p_role,
                                                                     'MEMBER') THEN 1
                ELSE 0 END
$$;

CREATE FUNCTION public.is_srvrolemember(p_role text) RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT CASE lower(p_role) WHEN 'sysadmin' THEN lab.login_is('super')::int
                              WHEN 'dbcreator' THEN lab.login_is('createdb')::int END
$$;

CREATE FUNCTION public.is_rolemember(p_role text) RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT lab.login_in(p_role)
$$;

-- Replaces schema.sql's server-level stand-in (which the sys.master_files policy already
-- names, so the parameter names stay): server permissions from lab.server_permission or, for
-- CREATE ANY DATABASE, CREATEDB; database permissions for BACKUP and CREATE DATABASE.
CREATE OR REPLACE FUNCTION public.has_perms_by_name(securable text, securable_class text,
                                                    permission text)
RETURNS integer LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT CASE
        WHEN securable IS NULL AND securable_class IS NULL THEN
            CASE WHEN EXISTS (SELECT 1 FROM lab.server_permission p
                              WHERE p.grantee = session_user
                                AND upper(p.permission_name) = upper(permission))
                      OR (upper(permission) = 'CREATE ANY DATABASE' AND lab.login_is('createdb'))
                 THEN 1 ELSE 0 END
        WHEN upper(securable_class) <> 'DATABASE' THEN NULL
        WHEN NOT EXISTS (SELECT 1 FROM sys.databases d WHERE lower(d.name) = lower(securable))
            THEN NULL
        WHEN upper(permission) = 'CREATE DATABASE' AND lower(securable) = 'master'
            THEN lab.login_is('createdb')::int
        WHEN upper(permission) IN ('BACKUP DATABASE', 'BACKUP LOG')
            THEN COALESCE(lab.login_in('db_backupoperator'), lab.login_is('super')::int)
    END
$$;
