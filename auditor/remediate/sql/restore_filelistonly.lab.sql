SELECT "LogicalName", "PhysicalName", "Type", "FileId" FROM dbo.lab_restore_filelistonly(?)
