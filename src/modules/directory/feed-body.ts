import type { FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';

/*
 * A large feed body read as blocks of its own rather than one buffer: fastify's `parseAs: 'buffer'`
 * concatenates 20 MiB on the event loop when the last byte arrives (tens of milliseconds of copying
 * and a full GC for the external memory), at the very moment SSO answers are waiting. Here each
 * socket chunk is copied into the current 1 MiB block as it arrives (microseconds each), and the
 * blocks, owned by nobody else, are moved to the feed thread whole.
 */

const BLOCK = 1024 * 1024;

const tooLarge = () => new AppError(413, 'payload-too-large', 'Payload Too Large', 'Request body is too large');

export function readBodyBlocks(request: FastifyRequest, payload: NodeJS.ReadableStream, limit: number): Promise<Uint8Array[]> {
  const declared = Number(request.headers['content-length']);
  if (declared > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const blocks: Uint8Array[] = [];
    let block = new Uint8Array(new ArrayBuffer(Math.min(BLOCK, Number.isFinite(declared) && declared > 0 ? declared : BLOCK)));
    let filled = 0;
    let received = 0;
    const stop = () => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
    };
    const onData = (data: Buffer | string) => {
      const chunk = typeof data === 'string' ? Buffer.from(data) : data;
      received += chunk.length;
      if (received > limit) {
        stop();
        reject(tooLarge());
        return;
      }
      let at = 0;
      while (at < chunk.length) {
        if (filled === block.length) {
          blocks.push(block);
          block = new Uint8Array(new ArrayBuffer(BLOCK));
          filled = 0;
        }
        const n = Math.min(block.length - filled, chunk.length - at);
        block.set(chunk.subarray(at, at + n), filled);
        filled += n;
        at += n;
      }
    };
    const onEnd = () => {
      stop();
      if (!Number.isNaN(declared) && received !== declared) {
        reject(new AppError(400, 'bad-request', 'Bad Request', 'Request body size did not match Content-Length'));
        return;
      }
      if (filled > 0) blocks.push(filled === block.length ? block : block.slice(0, filled));
      resolve(blocks);
    };
    const onError = (err: Error & { statusCode?: number }) => {
      stop();
      if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400;
      reject(err);
    };
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
    payload.resume();
  });
}

/** The blocks as one buffer (on the feed thread, or inline for a small body). */
export function joined(blocks: readonly Uint8Array[]): Buffer {
  return blocks.length === 1 ? Buffer.from(blocks[0]!.buffer, blocks[0]!.byteOffset, blocks[0]!.byteLength) : Buffer.concat(blocks);
}
