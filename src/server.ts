import { ConfigError, loadSettings, toConfig, type Config } from './config.js';
import { startPgliteThread, embeddedDatabaseDir } from './db/pglite-thread.js';
import { withEmbeddedSecrets } from './embedded.js';

/**
 * The only place that reads the environment and listens. Only what decides the database is loaded
 * before the embedded one starts on its thread; the application's modules load meanwhile.
 */
async function main(): Promise<void> {
  let config: Config;
  let warnings: string[] = [];
  try {
    const settings = loadSettings(process.env);
    if (settings.databaseUrl) {
      config = toConfig(settings);
    } else {
      const embedded = withEmbeddedSecrets(settings);
      config = embedded.config;
      warnings = [
        `EMBEDDED MODE: no DATABASE_URL, data kept in PGlite under ${settings.dataDir}. For development only.`,
        ...(embedded.generated.length > 0
          ? [`EMBEDDED MODE: using generated development secrets (${embedded.generated.join(', ')}) stored in ${embedded.file}. Never use them in production.`]
          : []),
      ];
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`gar-broker cannot start: ${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }

  const embedded = config.databaseUrl ? undefined : startPgliteThread(embeddedDatabaseDir(config.dataDir));
  const [{ buildApp }, { connectPostgres, fromPglite }, { migrateToLatest }, { startDailyMaintenance }, { buildCertificateListener }, { compilePendingSchemas }] = await Promise.all([
    import('./app.js'),
    import('./db/connect.js'),
    import('./db/migrate.js'),
    import('./modules/maintenance/maintenance.service.js'),
    import('./modules/gar-ws/listener.js'),
    import('./lib/schema-compilers.js'),
  ]);
  const database = embedded
    ? await fromPglite(embedded.client)
    : connectPostgres(config.databaseUrl!, config.databasePoolSize, { statementTimeoutMs: config.databaseStatementTimeoutMs });
  if (embedded) await embedded.ready;
  if (config.migrateOnStart) await migrateToLatest(database.db);

  const app = await buildApp(config, { database, ownsDatabase: true, processMetrics: true });
  for (const w of warnings) app.log.warn(w);
  const stopMaintenance = startDailyMaintenance(app.db, config, app.clock, app.log);
  app.addHook('onClose', async () => stopMaintenance());

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    // A stuck request must not keep the process alive forever.
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (err) => {
        app.log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  await app.listen({ port: config.port, host: config.host });
  if (config.garWsPort !== undefined) {
    // GAR's web services at GAR's paths, callers named by their client certificate (README "Switching from GAR").
    const tls = config.garWsTlsCert ? { cert: config.garWsTlsCert, key: config.garWsTlsKey!, ca: config.garWsClientCa! } : undefined;
    const ws = await buildCertificateListener(app, tls);
    app.addHook('preClose', async () => ws.close());
    await ws.listen({ port: config.garWsPort, host: config.host });
  }
  // Ready before every route schema is compiled: the rest are compiled a little later, between
  // requests (not at once: the load balancer's first /ready checks would wait behind them).
  setTimeout(() => {
    compilePendingSchemas().then(
      (count) => app.log.debug({ count }, 'route schemas compiled'),
      (err) => app.log.error({ err }, 'a route schema does not compile'),
    );
  }, 2_000).unref();
}

main().catch((err) => {
  process.stderr.write(`gar-broker failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
