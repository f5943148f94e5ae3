SELECT b.backup_set_id AS backup_set_id,
       b.database_name AS database_name,
       b.server_name AS server_name,
       b.machine_name AS machine_name,
       b.type AS type,
       b.backup_start_date AS backup_start_date,
       b.backup_finish_date AS backup_finish_date,
       b.time_zone AS time_zone,
       b.is_copy_only AS is_copy_only,
       b.is_damaged AS is_damaged,
       b.has_backup_checksums AS has_backup_checksums,
       b.recovery_model AS recovery_model,
       CAST(b.first_lsn AS varchar(30)) AS first_lsn,
       CAST(b.last_lsn AS varchar(30)) AS last_lsn,
       CAST(b.checkpoint_lsn AS varchar(30)) AS checkpoint_lsn,
       CAST(b.database_backup_lsn AS varchar(30)) AS database_backup_lsn,
       CAST(b.backup_size AS varchar(30)) AS backup_size,
       CAST(b.compressed_backup_size AS varchar(30)) AS compressed_backup_size,
       b.media_set_id AS media_set_id,
       b.family_guid AS family_guid,
       m.is_password_protected AS media_password_protected
FROM dbo.backupset b
LEFT JOIN dbo.backupmediaset m ON m.media_set_id = b.media_set_id
WHERE b.backup_finish_date >= ?
