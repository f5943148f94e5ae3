SELECT DATEPART(hour, s.SessionIdTime) AS hour_utc,
       COUNT(*) AS sessions
FROM LcsCDR.dbo.SessionDetails s
WHERE s.SessionIdTime >= ?
GROUP BY DATEPART(hour, s.SessionIdTime)
