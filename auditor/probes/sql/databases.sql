SELECT d.name AS name,
       d.database_id AS database_id,
       d.state AS state,
       d.state_desc AS state_desc,
       d.recovery_model AS recovery_model,
       d.recovery_model_desc AS recovery_model_desc,
       d.source_database_id AS source_database_id,
       d.is_read_only AS is_read_only
FROM sys.databases d
