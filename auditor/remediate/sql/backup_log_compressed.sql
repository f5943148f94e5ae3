SET NOCOUNT ON; DECLARE @db sysname = ?, @file nvarchar(4000) = ?; BACKUP LOG @db TO DISK = @file WITH CHECKSUM, COMPRESSION, STATS = 10;
