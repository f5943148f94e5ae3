SELECT SYSDATETIME() AS local_now,
       SYSUTCDATETIME() AS utc_now,
       CAST(SERVERPROPERTY('MachineName') AS varchar(128)) AS machine_name,
       CAST(SERVERPROPERTY('ServerName') AS varchar(128)) AS server_name,
       CAST(SERVERPROPERTY('ProductVersion') AS varchar(128)) AS product_version,
       CAST(SERVERPROPERTY('ProductLevel') AS varchar(128)) AS product_level,
       CAST(SERVERPROPERTY('Edition') AS varchar(128)) AS edition
