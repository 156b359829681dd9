import type { DatabaseHandle } from '../../db/connect.js';
import { GroupCommit } from '../../db/group-commit.js';
import { insertAccessLogRows, type AccessLogInsert } from './access-log.repository.js';

export type AccessLogRow = AccessLogInsert;

/**
 * The access log's group commit: each decision waits for its row, decisions made while a commit
 * is in flight share the next one. A failed batch fails all its callers (the database is down or
 * refusing writes: nothing is issued).
 */
export class AccessLogWriter extends GroupCommit<AccessLogRow> {
  constructor(
    database: Pick<DatabaseHandle, 'db' | 'prepared'>,
    /** Told the duration of every commit, for the metrics. */
    observe: (seconds: number, rows: number, ok: boolean) => void = () => {},
    maxBatch = 500,
    maxConcurrent = 2,
  ) {
    super((rows) => insertAccessLogRows(database, rows), { observe, maxBatch, maxConcurrent });
  }
}
