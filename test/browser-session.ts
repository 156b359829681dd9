// TEMPORARY (replaced by main's test/browser-session.ts at merge).
import type { FastifyInstance } from 'fastify';
import { shimOpenSession } from '../src/doors/saml-idp/contract-shim.js';

export async function openSession(_app: FastifyInstance, p: { entId: string; personId: string; uaiHint?: string }) {
  return shimOpenSession(p);
}
