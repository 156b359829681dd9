import type { FastifyInstance } from 'fastify';
import type { SessionInit } from '../src/session/sessions.js';
import { openSession } from './browser-session.js';

/** Broker sessions for the CAS and OIDC door tests, as if the person had come through their ENT. */
export function installShim(app: FastifyInstance) {
  return { open: (init: SessionInit) => openSession(app, init) };
}
