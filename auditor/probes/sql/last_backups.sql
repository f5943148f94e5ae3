SELECT b.database_name AS database_name,
       b.type AS type,
       MAX(b.backup_finish_date) AS last_finish,
       COUNT(*) AS backup_count
FROM dbo.backupset b
WHERE b.is_copy_only = 0
GROUP BY b.database_name, b.type
