// Where a guest archives its closed transaction logs (for point-in-time restores), shared by the
// guest that writes them and the taskmanager that removes them with the instance.
export const archivedLogsPrefix = (instanceId: string) => `binlogs/${instanceId}/`;
/** The guest's `log_archive_container` unless its config says otherwise. */
export const DEFAULT_LOG_ARCHIVE_CONTAINER = 'database_backups';
