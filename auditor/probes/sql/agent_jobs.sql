SELECT j.job_id AS job_id,
       j.name AS name,
       j.enabled AS enabled,
       j.notify_level_email AS notify_level_email,
       j.notify_level_page AS notify_level_page,
       j.notify_level_netsend AS notify_level_netsend,
       j.notify_email_operator_id AS notify_email_operator_id,
       o.name AS operator_name,
       o.enabled AS operator_enabled,
       o.email_address AS operator_email
FROM dbo.sysjobs j
LEFT JOIN dbo.sysoperators o ON o.id = j.notify_email_operator_id
