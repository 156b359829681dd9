import type { DatabaseHandle } from '../../db/connect.js';
import { insertAccessLogRows, type AccessLogInsert } from './access-log.repository.js';

export type AccessLogRow = AccessLogInsert;

interface Pending {
  row: AccessLogRow;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for the access log. Each caller waits until its row is committed (so no assertion
 * leaves without its row), but rows arriving while a commit is in flight share the next one: one
 * multi-row INSERT per round trip instead of one per decision.
 */
export class AccessLogWriter {
  private queue: Pending[] = [];
  private inFlight = 0;

  constructor(
    private readonly database: Pick<DatabaseHandle, 'db' | 'prepared'>,
    /** Told the duration of every commit, for the metrics. */
    private readonly observe: (seconds: number, rows: number, ok: boolean) => void = () => {},
    private readonly maxBatch = 500,
    private readonly maxConcurrent = 2,
  ) {}

  write(row: AccessLogRow): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      if (this.inFlight < this.maxConcurrent) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.inFlight++;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        const started = performance.now();
        try {
          await insertAccessLogRows(this.database, batch.map((p) => p.row));
          this.observe((performance.now() - started) / 1000, batch.length, true);
          for (const p of batch) p.resolve();
        } catch (err) {
          this.observe((performance.now() - started) / 1000, batch.length, false);
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.inFlight--;
    }
  }
}
