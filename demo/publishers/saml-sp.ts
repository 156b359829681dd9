import type { FastifyInstance } from 'fastify';
import samlify from 'samlify';
import { redirectParts, Sessions, siteApp } from '../lib/site.js';
import { errorPage, resourcePage, sessionPage, type PublisherSite } from './common.js';

/*
 * A publisher's SAML service provider as GAR documents it: SP-initiated (HTTP-Redirect AuthnRequest,
 * signed), RelayState = the resource URL, entityID = the URL of its metadata, the IDO attribute as
 * the person's key, and a SingleLogoutService the broker calls in a frame at logout.
 */

samlify.setSchemaValidator({ validate: () => Promise.resolve('not checked by the test publisher') });
const B = samlify.Constants.namespace.binding;

interface SpSession {
  nameId: string;
  attributes: Record<string, unknown>;
}

export interface SamlPublisherOptions extends PublisherSite {
  base: string;
  keys: { keyPem: string; certPem: string };
}

export function samlPublisher(o: SamlPublisherOptions) {
  const sessions = new Sessions<SpSession>('demo_saml_pub_session');
  const resourceUrl = `${o.base}/`;
  const sp = samlify.ServiceProvider({
    entityID: `${o.base}/saml/metadata`,
    authnRequestsSigned: true,
    wantAssertionsSigned: true,
    wantLogoutRequestSigned: true,
    wantLogoutResponseSigned: true,
    privateKey: o.keys.keyPem,
    signingCert: o.keys.certPem,
    requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    // GAR's rule: the AuthnRequest's RelayState is the resource URL.
    relayState: resourceUrl,
    nameIDFormat: ['urn:oasis:names:tc:SAML:2.0:nameid-format:transient'],
    assertionConsumerService: [{ Binding: B.post, Location: `${o.base}/saml/acs` }],
    singleLogoutService: [{ Binding: B.redirect, Location: `${o.base}/saml/slo` }],
  });
  let brokerIdp: ReturnType<typeof samlify.IdentityProvider> | undefined;
  async function idp() {
    if (brokerIdp) return brokerIdp;
    const res = await fetch(`${o.brokerUrl}/idp/metadata`);
    if (!res.ok) throw new Error(`the broker's IdP metadata: HTTP ${res.status}`);
    // The broker decides per SP whether requests must be signed; this SP signs its own anyway.
    const metadata = (await res.text()).replace('WantAuthnRequestsSigned="false"', 'WantAuthnRequestsSigned="true"');
    return (brokerIdp = samlify.IdentityProvider({ metadata, wantLogoutRequestSigned: true, wantLogoutResponseSigned: true }));
  }

  const app: FastifyInstance = siteApp();
  app.get('/saml/metadata', async (_request, reply) => reply.type('application/samlmetadata+xml').send(sp.getMetadata()));

  app.get('/', async (request, reply) => {
    const s = sessions.get(request);
    if (s) return resourcePage(reply, o, s.attributes, '<p><a href="/saml/logout" id="logout">Se déconnecter de l’éditeur</a></p>');
    const { context } = sp.createLoginRequest(await idp(), 'redirect') as { context: string };
    return reply.redirect(context);
  });

  app.post('/saml/acs', async (request, reply) => {
    try {
      const { extract } = await sp.parseLoginResponse(await idp(), 'post', { body: request.body as Record<string, string> });
      if (!extract.nameID) throw new Error('the Response has no NameID');
      sessions.open(reply, { nameId: extract.nameID, attributes: extract.attributes ?? {} });
      const relay = (request.body as { RelayState?: string }).RelayState;
      return reply.redirect(relay?.startsWith(resourceUrl) ? relay : resourceUrl, 303);
    } catch (err) {
      return errorPage(reply, o, 'Réponse SAML refusée', err);
    }
  });

  // Logout requested by the broker (ENT logout, or another SP's): end the session it names, answer.
  app.get('/saml/slo', async (request, reply) => {
    try {
      const parts = redirectParts(request);
      const { extract } = await sp.parseLogoutRequest(await idp(), 'redirect', parts);
      sessions.endWhere((s) => s.nameId === extract.nameID);
      const answer = sp.createLogoutResponse(await idp(), { extract: { request: { id: String(extract.request?.id ?? '') } } }, 'redirect', parts.query.RelayState ?? '') as { context: string };
      return reply.redirect(answer.context);
    } catch (err) {
      return errorPage(reply, o, 'Demande de déconnexion refusée', err);
    }
  });

  app.get('/saml/logout', async (request, reply) => {
    sessions.close(request, reply);
    return sessionPage(reply, o, false);
  });
  app.get('/session', async (request, reply) => sessionPage(reply, o, Boolean(sessions.get(request))));
  return { app, metadata: () => sp.getMetadata(), resourceUrl };
}
