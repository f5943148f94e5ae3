{CALL dbo.sp_start_job(?)}
