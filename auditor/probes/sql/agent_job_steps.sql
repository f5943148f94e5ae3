SELECT s.job_id AS job_id,
       s.step_id AS step_id,
       s.step_name AS step_name,
       s.subsystem AS subsystem,
       s.command AS command,
       s.last_run_outcome AS last_run_outcome,
       s.last_run_date AS last_run_date,
       s.last_run_time AS last_run_time
FROM dbo.sysjobsteps s
