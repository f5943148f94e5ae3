SELECT m.database_id AS database_id,
       m.mirroring_state AS mirroring_state,
       m.mirroring_state_desc AS mirroring_state_desc,
       m.mirroring_role AS mirroring_role,
       m.mirroring_role_desc AS mirroring_role_desc,
       m.mirroring_partner_instance AS mirroring_partner_instance
FROM sys.database_mirroring m
WHERE m.mirroring_guid IS NOT NULL
