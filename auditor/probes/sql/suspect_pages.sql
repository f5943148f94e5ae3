SELECT p.database_id AS database_id,
       p.file_id AS file_id,
       p.page_id AS page_id,
       p.event_type AS event_type,
       p.error_count AS error_count,
       p.last_update_date AS last_update_date
FROM dbo.suspect_pages p
