import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { AppError, errors } from '../../errors.js';
import { problems } from '../../lib/http-schemas.js';
import type { Caller } from '../../plugins/auth.js';
import { startFeedPool } from '../directory/feed-pool.js';
import { archiveKind } from './archive.js';
import * as jobs from './feed-jobs.repository.js';
import { FeedJobRunner } from './feed-jobs.runner.js';
import { ExportQuery, FeedJobListSchema, FeedJobSchema, JobParams, JobsQuery, type FeedJob } from './feed-jobs.schemas.js';

const tags = ['directory'];
export const EXPORT_MAX_BYTES = 512 * 1024 * 1024;
/** Media types an archive may be sent as; its kind is told by its first bytes, not by this. */
const ARCHIVE_TYPES = ['application/gzip', 'application/x-gzip', 'application/x-tar+gzip', 'application/zip', 'application/x-zip-compressed', 'application/octet-stream'];
/** An archive of a few hundred MiB takes longer than an ordinary body to arrive. */
const UPLOAD_SECONDS = 900;

interface Upload {
  path: string;
  bytes: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The ENT project an export or a job list is for, decided before the body is read. */
    feedEnt?: string;
  }
}

const tooLarge = (max: number) => new AppError(413, 'payload-too-large', 'Payload too large', `an export archive is at most ${max} bytes`);

/** The project a caller acts for: its own (ENT), or the one named (operator). */
function projectOf(caller: Caller, named: string | undefined): string | undefined {
  if (caller.role === 'ent') {
    if (named !== undefined && named !== caller.entId) throw errors.forbidden('an ENT token sends the exports of its own project only');
    return caller.entId;
  }
  return named;
}

const toJob = (r: jobs.FeedJobRow): FeedJob => ({
  id: r.id,
  entId: r.ent_id,
  state: r.state,
  archiveName: r.archive_name,
  archiveBytes: Number(r.archive_bytes),
  attempts: r.attempts,
  createdAt: new Date(r.created_at).toISOString(),
  startedAt: r.started_at ? new Date(r.started_at).toISOString() : null,
  finishedAt: r.finished_at ? new Date(r.finished_at).toISOString() : null,
  progress: r.progress as FeedJob['progress'],
  establishments: r.establishments as FeedJob['establishments'],
  problems: r.problems as FeedJob['problems'],
  problemCount: r.problem_count,
  error: r.error,
});

/** ENT (own project) and operator: nightly exports as background jobs. */
export const feedJobsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const maxBytes = app.config.feedExportMaxBytes ?? EXPORT_MAX_BYTES;
  const dir = app.config.feedExportDir ?? join(app.config.dataDir, 'feed-exports');
  const runner = new FeedJobRunner({ database: app.database, clock: app.clock, log: app.log, parallel: app.config.feedJobsParallel ?? 2 });
  app.addHook('onReady', async () => {
    await startFeedPool();
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // In the background: a start is not held up by the jobs left over, nor refused when the database is late.
    runner.resume().catch((err) => app.log.error({ errorClass: (err as Error)?.constructor?.name }, 'export jobs: resume at start failed'));
  });
  app.addHook('preClose', async () => runner.stop());

  // The archive goes to disk as it arrives, counted; it is never a string or a Buffer whole.
  app.addContentTypeParser(ARCHIVE_TYPES, async (request: FastifyRequest, payload: NodeJS.ReadableStream) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
    const path = join(dir, `${randomUUID()}.upload`);
    let bytes = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        done(bytes > maxBytes ? tooLarge(maxBytes) : null, chunk);
      },
    });
    try {
      await pipeline(payload, count, createWriteStream(path, { mode: 0o600 }));
    } catch (err) {
      await rm(path, { force: true });
      throw err;
    }
    return { path, bytes } satisfies Upload;
  });

  app.post(
    '/feed/gar-ent/exports',
    {
      config: { bodyTimeoutSeconds: UPLOAD_SECONDS },
      // Who may send for which project is decided before a byte of the archive is read.
      onRequest: async (request) => {
        const named = (request.query as { ent?: string }).ent;
        const entId = projectOf(request.caller, typeof named === 'string' ? named : undefined);
        if (entId === undefined) throw errors.validation('the ENT project is required', [{ path: 'querystring/ent', message: 'operators name the ENT project' }]);
        const found = await app.db.selectFrom('ent_projects').select('id').where('id', '=', entId).executeTakeFirst();
        if (!found) throw errors.notFound('ENT project', entId);
        request.feedEnt = entId;
      },
      schema: {
        tags,
        summary: 'Import a nightly GAR-ENT export (.tar.gz or .zip) in the background',
        description:
          'The body is one ENT project’s archive of GAR-ENT and GAR-ENT-1D XML files (names like ' +
          '`<idENT>_GAR-ENT_Complet_<date>_<Type>_<nnnn>.xml`; any Version attribute; files may mix establishments), ' +
          'streamed to disk (at most FEED_EXPORT_MAX_MB, 512 MiB by default). The answer is 202 with the job (Location: ' +
          'its URL); follow it with GET /v1/feed/jobs/{id}. The export is complete: each establishment with a GAREtab ' +
          'record is applied as a full snapshot of it (as PUT /v1/establishments/{uai}/directory: people absent are marked ' +
          'gone, groups that disappear keep their assignments detached), in its own transaction, whole or not at all. A bad ' +
          'record holds back the establishments it names; the others are applied. Establishments not attached to the ' +
          'project are refused, not applied. Jobs of one project run one after the other.',
        querystring: ExportQuery,
        body: {
          content: {
            // No type: the body reaches the handler as the file it was written to, not as a string.
            'application/gzip': { schema: { description: 'a .tar.gz archive (binary)' } },
            'application/zip': { schema: { description: 'a .zip archive (binary)' } },
          },
        } as never,
        response: { 202: FeedJobSchema, ...problems(400, 401, 403, 404, 413, 415) },
      },
    },
    async (request, reply) => {
      const upload = request.body as unknown as Upload | undefined;
      if (!upload || typeof upload !== 'object' || typeof upload.path !== 'string') {
        throw errors.unsupportedMediaType('send the archive as application/gzip or application/zip');
      }
      if (!(await archiveKind(upload.path))) {
        await rm(upload.path, { force: true });
        throw errors.badRequest('the body is neither a .tar.gz nor a .zip archive');
      }
      const id = randomUUID();
      const job = await jobs.insertJob(app.db, {
        id,
        entId: request.feedEnt!,
        createdBy: request.caller.sub,
        archiveName: request.query.name ?? null,
        archivePath: upload.path,
        bytes: upload.bytes,
        now: app.clock(),
      });
      runner.submit(id, job.ent_id);
      reply.code(202).header('location', `/v1/feed/jobs/${id}`);
      return toJob(job);
    },
  );

  app.get(
    '/feed/jobs/:id',
    {
      schema: {
        tags,
        summary: 'One export job: state, progress, problems and outcome per establishment',
        params: JobParams,
        response: { 200: FeedJobSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const job = await jobs.findJob(app.db, request.params.id);
      // Another project's job is as unknown as a job that does not exist.
      if (!job || (request.caller.role === 'ent' && job.ent_id !== request.caller.entId)) throw errors.notFound('job', request.params.id);
      return toJob(job);
    },
  );

  app.get(
    '/feed/jobs',
    {
      schema: {
        tags,
        summary: 'Recent export jobs, newest first',
        description: 'ENT tokens see their project’s jobs; operators every project’s, or one with `ent`. Jobs are kept 30 days after they end.',
        querystring: JobsQuery,
        response: { 200: FeedJobListSchema, ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const entId = projectOf(request.caller, request.query.ent);
      return { items: (await jobs.listJobs(app.db, entId, request.query.limit ?? 20)).map(toJob) };
    },
  );
};
