SELECT js.job_id AS job_id,
       sc.schedule_id AS schedule_id,
       sc.name AS name,
       sc.enabled AS enabled,
       sc.freq_type AS freq_type,
       sc.freq_interval AS freq_interval,
       sc.freq_subday_type AS freq_subday_type,
       sc.freq_subday_interval AS freq_subday_interval,
       sc.active_start_time AS active_start_time,
       js.next_run_date AS next_run_date,
       js.next_run_time AS next_run_time
FROM dbo.sysjobschedules js
JOIN dbo.sysschedules sc ON sc.schedule_id = js.schedule_id
