import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * Per-establishment files of an export job, on disk between reading the archive and applying it:
 * an export's files mix establishments and are split every N elements, so an establishment is whole
 * only once every file is read. Files are numbered, not named by UAI (UAIs come from the input).
 */
export class Spill {
  private readonly index = new Map<string, number>();

  private constructor(private readonly dir: string) {}

  static async open(parent = tmpdir()): Promise<Spill> {
    return new Spill(await mkdtemp(join(parent, 'export-spill-')));
  }

  private path(uai: string): string {
    let n = this.index.get(uai);
    if (n === undefined) this.index.set(uai, (n = this.index.size));
    return join(this.dir, `${n}.jsonl`);
  }

  async append(uai: string, text: string): Promise<void> {
    if (text) await appendFile(this.path(uai), text);
  }

  /** The establishment's file, if it has lines (for a feed thread to read itself). */
  fileOf(uai: string): string | undefined {
    return this.index.has(uai) ? this.path(uai) : undefined;
  }

  async read(uai: string): Promise<string> {
    if (!this.index.has(uai)) return '';
    return readFile(this.path(uai), 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw err;
    });
  }

  async drop(uai: string): Promise<void> {
    if (this.index.has(uai)) await rm(this.path(uai), { force: true });
  }

  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
