import type { FastifyReply } from 'fastify';
import { attributesTable, esc, page, sendHtml } from '../lib/site.js';

/** What a test publisher's page says about the person: exactly the attributes it received. */
export interface PublisherSite {
  name: string;
  colour: string;
  protocol: 'SAML 2.0' | 'CAS 3.0' | 'OpenID Connect';
  brokerUrl: string;
}

export const siteOf = (p: PublisherSite) => ({ name: p.name, colour: p.colour, tagline: `Éditeur de test · ${p.protocol} · courtier ${p.brokerUrl}` });

export function resourcePage(reply: FastifyReply, p: PublisherSite, attrs: Record<string, unknown>, extra = '') {
  return sendHtml(
    reply,
    200,
    page(
      siteOf(p),
      p.name,
      `<p id="status">Connecté(e) par le courtier (${esc(p.protocol)}). Voici tout ce que cet éditeur a reçu :</p>${attributesTable(attrs)}${extra}` +
        `<p class="note">IDO est l’identifiant opaque de la personne pour cet éditeur ; les autres attributs sont ceux que le ministère a approuvés pour cette ressource.</p>`,
    ),
  );
}

/** Whether the publisher holds a session for this browser, without starting a login (the journey test reads it after logout). */
export function sessionPage(reply: FastifyReply, p: PublisherSite, open: boolean) {
  return sendHtml(reply, 200, page(siteOf(p), 'Session', `<p>Session chez l’éditeur : <strong id="session">${open ? 'ouverte' : 'fermée'}</strong></p>`));
}

export function errorPage(reply: FastifyReply, p: PublisherSite, title: string, err: unknown) {
  return sendHtml(reply, 400, page(siteOf(p), title, `<p id="error">${esc((err as Error)?.message ?? String(err))}</p>`));
}
