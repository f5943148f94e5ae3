SELECT dbo.lab_drop_database(?) AS dropped
