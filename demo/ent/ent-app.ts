import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { autoPost, esc, page, redirectParts, sendHtml, Sessions, siteApp } from '../lib/site.js';
import { entIdp, type IdpSwitches, type Subject } from './saml-idp.js';

/*
 * The test ENT: a login page for the demo people (pick one, no password), a SAML IdP for the
 * broker's entry links, a media centre listing the person's resources from the broker's resource
 * service with GAR's entry links, and a logout that tells the broker (SAML SLO).
 */

export interface EntPerson {
  id: string;
  label: string;
  uai: string;
}

export interface EntOptions {
  /** This ENT's own URL (http://127.0.0.1:7100). */
  base: string;
  /** The broker it is a project of. */
  brokerUrl: string;
  entId: string;
  name: string;
  /** An `ent` bearer token of this project, for the resource service. */
  entToken: () => string;
  people: EntPerson[];
  /** Links shown under the list to resources the person was not given (to see the broker refuse). */
  otherLinks?: Array<{ name: string; resourceId: string }>;
  keys: { keyPem: string; certPem: string };
  switches?: Partial<IdpSwitches>;
  /** `gar-ws` (default): GAR's `/ressources/{idENT}/{uai}/{personId}` under /ws; `v1`: the broker's own list. */
  resourceService?: 'gar-ws' | 'v1';
}

/** The fields of a GAR resource item the media centre shows. */
interface GarItem {
  nomRessource: string;
  idRessource: string;
  urlAccesRessource: string;
  nomEditeur?: string;
}

interface EntSession {
  person: EntPerson;
  /** The transient NameID this session is known by at the broker (deployed ENTs send their session id). */
  nameId: string;
  sessionIndex: string;
  /** Whether a Response went to the broker: then logout must tell it. */
  toldBroker: boolean;
}

const SITE = { colour: '#0b6e4f' };
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** GAR's entry link for a resource at an establishment of this project. */
export function entryLink(brokerUrl: string, entId: string, uai: string, resourceId: string): string {
  return `${brokerUrl}/domaineGar?idENT=${encodeURIComponent(b64(entId))}&idEtab=${encodeURIComponent(b64(uai))}&idRessource=${encodeURIComponent(resourceId)}`;
}

export function buildTestEnt(o: EntOptions): FastifyInstance {
  const app = siteApp();
  const site = { ...SITE, name: o.name, tagline: `ENT de test · projet ${o.entId} · courtier ${o.brokerUrl}` };
  const sessions = new Sessions<EntSession>('demo_ent_session');
  const switches: IdpSwitches = { sha1: true, audienceIsAcs: false, lifetimeSeconds: 3600, ...o.switches };
  const idp = entIdp({ base: o.base, ...o.keys, switches });
  let spMetadata: string | undefined;
  const brokerSpMetadata = async () => {
    if (spMetadata) return spMetadata;
    const res = await fetch(`${o.brokerUrl}/saml/sp/metadata`);
    if (!res.ok) throw new Error(`the broker's SP metadata: HTTP ${res.status}`);
    return (spMetadata = await res.text());
  };
  const subjectOf = (s: EntSession): Subject => ({ idEnt: o.entId, personId: s.person.id, nameId: s.nameId, sessionIndex: s.sessionIndex });
  const samePath = (next: unknown) => (typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') ? next : '/media');

  app.get('/', async (request, reply) => {
    if (sessions.get(request)) return reply.redirect('/media');
    const next = samePath((request.query as { next?: string }).next);
    const buttons = o.people
      .map((p) => `<li><button name="person" value="${esc(p.id)}">${esc(p.label)}</button></li>`)
      .join('');
    return sendHtml(
      reply,
      200,
      page(site, 'Connexion', `<p>Choisissez une personne de démonstration (pas de mot de passe).</p><form method="post" action="/login"><input type="hidden" name="next" value="${esc(next)}"><ul id="people">${buttons}</ul></form>`),
    );
  });

  app.post('/login', async (request, reply) => {
    const body = (request.body ?? {}) as { person?: string; next?: string };
    const person = o.people.find((p) => p.id === body.person);
    if (!person) return sendHtml(reply, 400, page(site, 'Personne inconnue', '<p><a href="/">Retour</a></p>'));
    const sessionIndex = `ent-${randomBytes(12).toString('hex')}`;
    sessions.open(reply, { person, nameId: sessionIndex, sessionIndex, toldBroker: false });
    return reply.redirect(samePath(body.next), 303);
  });

  app.get('/media', async (request, reply) => {
    const s = sessions.get(request);
    if (!s) return reply.redirect('/?next=/media');
    const [uai, person] = [encodeURIComponent(s.person.uai), encodeURIComponent(s.person.id)];
    // GAR's resource service (the broker serves it under /ws with a bearer token), or the /v1 list.
    const url =
      o.resourceService === 'v1'
        ? `${o.brokerUrl}/v1/establishments/${uai}/people/${person}/resources`
        : `${o.brokerUrl}/ws/ressources/${encodeURIComponent(o.entId)}/${uai}/${person}`;
    const res = await fetch(url, { headers: { authorization: `Bearer ${o.entToken()}`, accept: 'application/json' } });
    let list: string;
    if (res.ok) {
      const body = (await res.json()) as { items?: GarItem[]; listeRessources?: { ressource: GarItem[] } };
      const items = body.listeRessources?.ressource ?? body.items ?? [];
      list =
        items.length === 0
          ? '<p id="resources">Aucune ressource ne vous est attribuée.</p>'
          : `<ul id="resources">${items
              .map((i) => `<li><a class="button" data-resource="${esc(i.idRessource)}" href="${esc(i.urlAccesRessource)}">${esc(i.nomRessource)}</a> <span class="note">${esc(i.nomEditeur ?? '')}</span></li>`)
              .join('')}</ul>`;
    } else {
      list = `<p id="resources">Le service de ressources du courtier répond ${res.status}.</p>`;
    }
    const others = (o.otherLinks ?? [])
      .map((l) => `<li><a data-resource="${esc(l.resourceId)}" href="${esc(entryLink(o.brokerUrl, o.entId, s.person.uai, l.resourceId))}">${esc(l.name)}</a></li>`)
      .join('');
    return sendHtml(
      reply,
      200,
      page(
        site,
        'Médiacentre',
        `<p>Connecté(e) : <strong id="who">${esc(s.person.label)}</strong> · <a href="/logout" id="logout">Se déconnecter</a></p>` +
          `<h2>Mes ressources</h2>${list}` +
          (others ? `<h2>Autres ressources du catalogue</h2><p class="note">Non attribuées : le courtier doit refuser.</p><ul id="others">${others}</ul>` : ''),
      ),
    );
  });

  app.get('/idp/metadata', async (_request, reply) => reply.type('application/samlmetadata+xml').send(idp.metadata()));

  // The broker's AuthnRequest (HTTP-Redirect): log in first if needed, then post the Response.
  app.get('/idp/sso', async (request, reply) => {
    const s = sessions.get(request);
    if (!s) return reply.redirect(`/?next=${encodeURIComponent(request.url)}`);
    try {
      const relay = (request.query as { RelayState?: string }).RelayState;
      const out = await idp.answer(await brokerSpMetadata(), redirectParts(request), subjectOf(s));
      s.toldBroker = true;
      return sendHtml(reply, 200, autoPost(out.acsUrl, { SAMLResponse: out.SAMLResponse, ...(relay ? { RelayState: relay } : {}) }));
    } catch (err) {
      return refusePage(reply, 'Demande SAML refusée par l’ENT', err);
    }
  });

  // Logout at the ENT: the broker is told by a signed LogoutRequest in the browser (front channel).
  app.get('/logout', async (request, reply) => {
    const s = sessions.get(request);
    sessions.close(request, reply);
    if (!s?.toldBroker) return reply.redirect('/logged-out');
    return reply.redirect(idp.logoutUrl(await brokerSpMetadata(), subjectOf(s)));
  });

  // The broker's LogoutResponse, once it has told the publishers.
  app.get('/idp/slo', async (request, reply) => {
    try {
      const status = await idp.logoutStatus(await brokerSpMetadata(), redirectParts(request));
      return reply.redirect(`/logged-out?broker=${encodeURIComponent(status.split(':').pop()!)}`);
    } catch (err) {
      return refusePage(reply, 'Réponse de déconnexion refusée par l’ENT', err);
    }
  });

  app.get('/logged-out', async (request, reply) => {
    const broker = (request.query as { broker?: string }).broker;
    return sendHtml(
      reply,
      200,
      page(site, 'Déconnecté', `<p>Vous êtes déconnecté(e) de l’ENT.${broker ? ` Le courtier a répondu : <strong id="broker-status">${esc(broker)}</strong>.` : ''}</p><p><a href="/">Se reconnecter</a></p>`),
    );
  });

  function refusePage(reply: FastifyReply, title: string, err: unknown) {
    return sendHtml(reply, 400, page(site, title, `<p>${esc((err as Error).message ?? String(err))}</p>`));
  }
  return app;
}

