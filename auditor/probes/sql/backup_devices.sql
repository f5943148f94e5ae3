SELECT f.media_set_id AS media_set_id,
       f.family_sequence_number AS family_sequence_number,
       f.mirror AS mirror,
       f.physical_device_name AS physical_device_name,
       f.logical_device_name AS logical_device_name,
       f.device_type AS device_type
FROM dbo.backupmediafamily f
WHERE f.media_set_id IN (SELECT b.media_set_id FROM dbo.backupset b
                         WHERE b.backup_finish_date >= ?)
