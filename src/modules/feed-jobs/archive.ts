import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import yauzl from 'yauzl';

/*
 * The entries of an ENT's nightly export, read from disk one at a time: a .tar.gz through node's
 * zlib and tar-stream, a .zip through yauzl (which reads the central directory and checks each
 * entry's sizes). Only one file's text is in memory at once, and each is capped, so a crafted
 * archive (a zip bomb, a 10 GiB member) costs a bounded amount of memory.
 */

export type ArchiveKind = 'tar.gz' | 'zip';

export interface ArchiveLimits {
  /** Largest XML file read from the archive (the single-file route's body limit). */
  maxFileBytes: number;
  /** Most files an archive may hold. */
  maxFiles: number;
}

export const ARCHIVE_LIMITS: ArchiveLimits = { maxFileBytes: 20 * 1024 * 1024, maxFiles: 20_000 };

export class ArchiveError extends Error {}

/** The archive's kind by its first bytes, whatever its name says; undefined: neither. */
export async function archiveKind(path: string): Promise<ArchiveKind | undefined> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
    if (bytesRead === 4 && head.readUInt32LE(0) === 0x04034b50) return 'zip';
    return undefined;
  } finally {
    await fh.close();
  }
}

export interface ArchiveEntry {
  /** The file's own name, without the folders it sits in. */
  name: string;
  /** Undefined when the entry was counted but not read (counting pass). */
  text?: string;
}

/** Only XML files are read; folders and anything else are skipped (and counted as skipped). */
const isXml = (name: string) => /\.xml$/i.test(name);

async function readCapped(stream: AsyncIterable<unknown> & { destroy(): unknown }, name: string, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > max) {
      stream.destroy();
      throw new ArchiveError(`${name}: larger than ${max} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function* tarEntries(path: string, read: boolean, limits: ArchiveLimits): AsyncGenerator<ArchiveEntry> {
  const extract = tar.extract();
  const source = createReadStream(path).pipe(createGunzip());
  source.on('error', (err) => extract.destroy(new ArchiveError(`not a readable .tar.gz: ${err.message}`)));
  source.pipe(extract);
  let files = 0;
  try {
    for await (const entry of extract) {
      const name = basename(entry.header.name);
      if (entry.header.type !== 'file' || !isXml(name)) {
        entry.resume();
        continue;
      }
      if (++files > limits.maxFiles) throw new ArchiveError(`more than ${limits.maxFiles} files`);
      if (!read) {
        entry.resume();
        yield { name };
        continue;
      }
      yield { name, text: await readCapped(entry, name, limits.maxFileBytes) };
    }
  } catch (err) {
    throw err instanceof ArchiveError ? err : new ArchiveError(`not a readable .tar.gz: ${(err as Error).message}`);
  } finally {
    source.destroy();
  }
}

async function* zipEntries(path: string, read: boolean, limits: ArchiveLimits): AsyncGenerator<ArchiveEntry> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(path, { lazyEntries: true, autoClose: false }, (err, z) => (err ? reject(new ArchiveError(`not a readable .zip: ${err.message}`)) : resolve(z))),
  );
  try {
    if (zip.entryCount > limits.maxFiles * 2) throw new ArchiveError(`more than ${limits.maxFiles} files`);
    let files = 0;
    for (;;) {
      const entry = await new Promise<yauzl.Entry | undefined>((resolve, reject) => {
        const onEntry = (e: yauzl.Entry) => done(undefined, e);
        const onEnd = () => done(undefined, undefined);
        const onError = (err: Error) => done(err);
        const done = (err?: Error, e?: yauzl.Entry) => {
          zip.off('entry', onEntry).off('end', onEnd).off('error', onError);
          if (err) reject(new ArchiveError(`not a readable .zip: ${err.message}`));
          else resolve(e);
        };
        zip.on('entry', onEntry).on('end', onEnd).on('error', onError);
        zip.readEntry();
      });
      if (!entry) return;
      const name = basename(entry.fileName);
      if (entry.fileName.endsWith('/') || !isXml(name)) continue;
      if (++files > limits.maxFiles) throw new ArchiveError(`more than ${limits.maxFiles} files`);
      if (!read) {
        yield { name };
        continue;
      }
      // The declared size first (cheap), then the bytes actually inflated (yauzl checks they match).
      if (entry.uncompressedSize > limits.maxFileBytes) throw new ArchiveError(`${name}: larger than ${limits.maxFileBytes} bytes`);
      const stream = await new Promise<Readable>((resolve, reject) =>
        zip.openReadStream(entry, (err, s) => (err ? reject(new ArchiveError(`${name}: ${err.message}`)) : resolve(s))),
      );
      yield { name, text: await readCapped(stream, name, limits.maxFileBytes) };
    }
  } finally {
    zip.close();
  }
}

/** The XML files of an archive, in archive order; `read: false` only names them (to count). */
export function archiveEntries(path: string, kind: ArchiveKind, read: boolean, limits: ArchiveLimits = ARCHIVE_LIMITS): AsyncGenerator<ArchiveEntry> {
  return kind === 'zip' ? zipEntries(path, read, limits) : tarEntries(path, read, limits);
}

/** An archive on disk as the files of an export: counted in a first pass, read in a second. */
export function archiveFiles(path: string, kind: ArchiveKind, limits: ArchiveLimits = ARCHIVE_LIMITS) {
  return {
    async count() {
      let n = 0;
      for await (const _ of archiveEntries(path, kind, false, limits)) n++;
      return n;
    },
    entries: () => archiveEntries(path, kind, true, limits),
  };
}
