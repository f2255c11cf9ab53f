"""Call log: every call's timeline in SQLite under the user data dir. Never any audio.

- store: the file (schema, writing, reading, retention, number hashing);
- owners: which process an open call belongs to (a new instance closes only dead ones' calls);
- guarded: the live app's writer, which never raises (the log is a record, not a reason to stop);
- show: `softphone-assist log [--last N] [--json] [--purge [--before DATE]]`.
"""

from softphone_assist.calllog.guarded import LiveCallLog, NumberFromHooks
from softphone_assist.calllog.show import format_log, print_log, purge_log
from softphone_assist.calllog.store import (
    MAX_RECORD_BYTES,
    ORPHAN_REASON,
    SCHEMA_VERSION,
    CallLog,
    CallLogError,
    LoggedCall,
    default_log_path,
)

__all__ = [
    "MAX_RECORD_BYTES",
    "ORPHAN_REASON",
    "SCHEMA_VERSION",
    "CallLog",
    "CallLogError",
    "LiveCallLog",
    "LoggedCall",
    "NumberFromHooks",
    "default_log_path",
    "format_log",
    "print_log",
    "purge_log",
]
