SELECT r.restore_history_id AS restore_history_id,
       r.restore_date AS restore_date,
       r.destination_database_name AS destination_database_name,
       r.restore_type AS restore_type,
       r.recovery AS recovery,
       r.replace AS replace,
       r.backup_set_id AS backup_set_id,
       b.database_name AS source_database_name,
       b.server_name AS source_server_name,
       b.family_guid AS source_family_guid
FROM dbo.restorehistory r
LEFT JOIN dbo.backupset b ON b.backup_set_id = r.backup_set_id
WHERE r.restore_date >= ?
