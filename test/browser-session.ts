import type { FastifyInstance } from 'fastify';
import { SESSION_COOKIE, type SessionInit } from '../src/session/sessions.js';

/** A broker session as if the person had just logged in through their ENT (no IdP round trip). */
export async function openSession(app: FastifyInstance, init: SessionInit) {
  const { session, token } = await app.sessions.create(init);
  return { cookie: `${SESSION_COOKIE}=${token}`, session };
}
