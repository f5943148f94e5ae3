SELECT b.backup_set_id AS backup_set_id,
       b.key_algorithm AS key_algorithm,
       b.encryptor_type AS encryptor_type
FROM dbo.backupset b
WHERE b.backup_finish_date >= ?
