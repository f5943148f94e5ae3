SELECT dbo.lab_checkdb(?) AS errors
