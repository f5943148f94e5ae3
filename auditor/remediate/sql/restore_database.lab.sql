SELECT dbo.lab_restore_database(?, ?, ARRAY[?, ?]::varchar[]) AS restore_history_id
