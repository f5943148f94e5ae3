SELECT MAX(h.instance_id) AS instance_id FROM dbo.sysjobhistory h
