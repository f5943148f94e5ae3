"""The columns of each lab table that a recorded probe row gives back."""

DATABASE_COLUMNS = ("name", "database_id", "state", "state_desc", "recovery_model",
                    "recovery_model_desc", "source_database_id", "is_read_only")
FILE_COLUMNS = ("database_id", "file_id", "type", "name", "physical_name")
VOLUME_COLUMNS = ("volume_mount_point", "volume_id", "total_bytes", "available_bytes")
MIRROR_COLUMNS = ("mirroring_state", "mirroring_state_desc", "mirroring_role",
                  "mirroring_role_desc", "mirroring_partner_instance")
BACKUPSET_COLUMNS = ("backup_set_id", "database_name", "server_name", "machine_name", "type",
                     "backup_start_date", "backup_finish_date", "time_zone", "is_copy_only",
                     "is_damaged", "has_backup_checksums", "recovery_model", "first_lsn",
                     "last_lsn", "checkpoint_lsn", "database_backup_lsn", "backup_size",
                     "compressed_backup_size", "media_set_id", "family_guid")
DEVICE_COLUMNS = ("media_set_id", "family_sequence_number", "mirror", "physical_device_name",
                  "logical_device_name", "device_type")
RESTORE_COLUMNS = ("restore_history_id", "restore_date", "destination_database_name",
                   "restore_type", "recovery", "replace", "backup_set_id")
SUSPECT_COLUMNS = ("database_id", "file_id", "page_id", "event_type", "error_count",
                   "last_update_date")
JOB_COLUMNS = ("job_id", "name", "enabled", "notify_level_email", "notify_level_page",
               "notify_level_netsend", "notify_email_operator_id")
STEP_COLUMNS = ("job_id", "step_id", "step_name", "subsystem", "command", "last_run_outcome",
                "last_run_date", "last_run_time")
SCHEDULE_COLUMNS = ("schedule_id", "name", "enabled", "freq_type", "freq_interval",
                    "freq_subday_type", "freq_subday_interval", "active_start_time")
JOB_SCHEDULE_COLUMNS = ("schedule_id", "job_id", "next_run_date", "next_run_time")
HISTORY_COLUMNS = ("instance_id", "job_id", "run_status", "run_date", "run_time",
                   "run_duration", "message")
