SELECT f.type AS type, f.physical_name AS physical_name FROM sys.master_files f JOIN sys.databases d ON d.database_id = f.database_id WHERE d.name = ?
