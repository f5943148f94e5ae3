SELECT f.database_id AS database_id,
       f.file_id AS file_id,
       f.type AS type,
       f.name AS name,
       f.physical_name AS physical_name,
       v.volume_mount_point AS volume_mount_point,
       v.volume_id AS volume_id,
       v.total_bytes AS total_bytes,
       v.available_bytes AS available_bytes
FROM sys.master_files f
CROSS APPLY sys.dm_os_volume_stats(f.database_id, f.file_id) v
