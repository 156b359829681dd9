import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { pendingMigrations } from '../../db/migrate.js';
import { problems } from '../../lib/http-schemas.js';
import { errors } from '../../errors.js';

const Status = Type.Object({ status: Type.Literal('ok') });

export const healthRoutes: FastifyPluginAsyncTypebox<{ openapiPath: string }> = async (app, opts) => {
  const openapi = readFileSync(opts.openapiPath, 'utf8');
  // Migrations on disk cannot change under a running process: once all applied, remember it.
  let migrationsApplied = false;

  app.get(
    '/health',
    { schema: { tags: ['operations'], summary: 'The process is up', response: { 200: Status } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      schema: {
        tags: ['operations'],
        summary: 'The database is reachable and every migration is applied',
        response: { 200: Status, ...problems(503) },
      },
    },
    async () => {
      try {
        await sql`select 1`.execute(app.db);
        if (!migrationsApplied) {
          const pending = await pendingMigrations(app.db);
          if (pending.length > 0) throw errors.unavailable(`${pending.length} migration(s) not applied`);
          migrationsApplied = true;
        }
      } catch (err) {
        if ((err as { status?: number }).status === 503) throw err;
        throw errors.unavailable('the database is unreachable');
      }
      return { status: 'ok' as const };
    },
  );

  app.get(
    '/openapi.yaml',
    {
      schema: {
        tags: ['operations'],
        summary: 'This API description',
        response: { 200: { description: 'OpenAPI 3.1 document', content: { 'application/yaml': { schema: Type.String() } } } },
      },
    },
    async (_request, reply) => reply.type('application/yaml').send(openapi),
  );
};
