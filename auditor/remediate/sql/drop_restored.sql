SET NOCOUNT ON; DECLARE @db sysname = ?; DECLARE @sql nvarchar(max) = N'DROP DATABASE ' + QUOTENAME(@db) + N';'; EXEC (@sql);
