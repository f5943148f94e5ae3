SELECT "LogicalName", "PhysicalName", "Type", "FileId", "Size" FROM dbo.lab_restore_filelistonly(?)
