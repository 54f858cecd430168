/* CloudWatch Logs tables. Events are keyed (stream, timestamp, sequence) in a WITHOUT ROWID
 * table, so reading a stream in time order is one range scan of the primary key however many
 * events the group holds. Timestamps are epoch milliseconds, as the Logs API uses. */
#include "store/schema.h"

#include "core/xalloc.h"

static const char *const steps[] = {
    /* 1 */
    "CREATE TABLE log_groups ("
    "  id INTEGER PRIMARY KEY,"
    "  account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  retention_days INTEGER,"
    "  kms_key_id TEXT,"
    "  log_group_class TEXT NOT NULL DEFAULT 'STANDARD',"
    "  deletion_protection INTEGER NOT NULL DEFAULT 0,"
    "  stored_bytes INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (account, region, name));"
    "CREATE TABLE log_streams ("
    "  id INTEGER PRIMARY KEY,"
    "  group_id INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  first_event INTEGER, last_event INTEGER, last_ingestion INTEGER,"
    "  next_seq INTEGER NOT NULL DEFAULT 1,"
    "  stored_bytes INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (group_id, name));"
    "CREATE INDEX log_streams_last_event ON log_streams(group_id, last_event);"
    "CREATE TABLE log_events ("
    "  stream_id INTEGER NOT NULL, ts INTEGER NOT NULL, seq INTEGER NOT NULL,"
    "  ingestion INTEGER NOT NULL, message TEXT NOT NULL,"
    "  PRIMARY KEY (stream_id, ts, seq)) WITHOUT ROWID;",
};

const struct store_schema store_schema_logs = {"logs", steps, ARRAY_SIZE(steps)};
