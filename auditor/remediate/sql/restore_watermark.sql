SELECT MAX(r.restore_history_id) AS restore_history_id FROM dbo.restorehistory r
