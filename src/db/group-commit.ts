interface Pending<T> {
  row: T;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit. Each caller waits until its row is committed (nothing leaves before its row is
 * durable), but rows arriving while a commit is in flight share the next one: one multi-row INSERT
 * per round trip instead of one per request.
 */
export class GroupCommit<T> {
  private queue: Pending<T>[] = [];
  private inFlight = 0;

  constructor(
    private readonly commit: (rows: T[]) => Promise<void>,
    private readonly options: {
      /** Told the duration of every commit, for the metrics. */
      observe?: (seconds: number, rows: number, ok: boolean) => void;
      maxBatch?: number;
      maxConcurrent?: number;
      /** A failed batch is retried row by row, so that one bad row fails only its own caller. */
      isolateFailures?: boolean;
    } = {},
  ) {}

  write(row: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      if (this.inFlight < (this.options.maxConcurrent ?? 2)) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.inFlight++;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.options.maxBatch ?? 500);
        if (!(await this.tryCommit(batch)) && this.options.isolateFailures && batch.length > 1) {
          for (const p of batch) await this.tryCommit([p]);
        }
      }
    } finally {
      this.inFlight--;
    }
  }

  /** Commits a batch and settles its callers: resolved, or rejected unless they get a retry row by row. */
  private async tryCommit(batch: Pending<T>[]): Promise<boolean> {
    const started = performance.now();
    try {
      await this.commit(batch.map((p) => p.row));
      this.options.observe?.((performance.now() - started) / 1000, batch.length, true);
      for (const p of batch) p.resolve();
      return true;
    } catch (err) {
      this.options.observe?.((performance.now() - started) / 1000, batch.length, false);
      const retried = this.options.isolateFailures && batch.length > 1;
      if (!retried) for (const p of batch) p.reject(err);
      return false;
    }
  }
}
