SELECT h.instance_id AS instance_id,
       h.job_id AS job_id,
       h.run_status AS run_status,
       h.run_date AS run_date,
       h.run_time AS run_time,
       h.run_duration AS run_duration,
       h.message AS message
FROM dbo.sysjobhistory h
WHERE h.step_id = 0 AND h.run_date >= ?
