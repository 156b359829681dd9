/*
 * TEMPORARY stub: the ENT-door engineer's src/pages/ owns the refusal page (French first, one
 * stylesheet). Every browser door of issue 13 calls it through this one import; when theirs lands,
 * this file re-exports their renderRefusalPage.
 */
import type { FastifyReply } from 'fastify';
import { xmlText } from '../saml/xml.js';
import { REFUSAL_REASONS, refusalText, type RefusalReason } from '../modules/sso/sso.service.js';

export function renderRefusalPage(reply: FastifyReply, p: { reason: string; lang?: string }): FastifyReply {
  const known = (REFUSAL_REASONS as readonly string[]).includes(p.reason);
  const text = known ? refusalText(p.reason as RefusalReason) : 'access refused';
  const html =
    '<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Accès refusé</title></head><body>' +
    '<h1>Accès refusé</h1><p>Vous ne pouvez pas ouvrir cette ressource. Adressez-vous au responsable d’affectation de votre établissement.</p>' +
    `<p lang="en">${xmlText(text)}</p><p><code>${xmlText(p.reason)}</code></p></body></html>`;
  return reply.status(403).type('text/html; charset=utf-8').send(html);
}
