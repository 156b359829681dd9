import type { FastifyInstance } from 'fastify';
import { buildTestEnt } from './ent/ent-app.js';
import { freePort } from './lib/site.js';
import { casPublisher } from './publishers/cas-client.js';
import { oidcPublisher } from './publishers/oidc-client.js';
import { samlPublisher } from './publishers/saml-sp.js';
import { buildDemoWorld, DEMO, type Signer } from './world.js';
import type { IdpSwitches } from './ent/saml-idp.js';
import { newKeyPair } from './lib/keys.js';

/*
 * The conformance kit: the test ENT and the three test publishers, each its own HTTP server, pointed
 * at a broker by its base URL; then the demo world built through that broker's API.
 */

export interface KitOptions {
  brokerUrl: string;
  /** Signs the broker's bearer tokens (roles operator, ministry, ent, establishment, publisher). */
  sign: Signer;
  host?: string;
  /** Fixed ports (ENT, SAML, CAS, OIDC publishers); unset: free ones. */
  ports?: { ent?: number; saml?: number; cas?: number; oidc?: number };
  switches?: Partial<IdpSwitches>;
  resourceService?: 'gar-ws' | 'v1';
  log?: (line: string) => void;
}

export interface Kit {
  urls: { ent: string; saml: string; cas: string; oidc: string };
  close(): Promise<void>;
}

export async function startKit(o: KitOptions): Promise<Kit> {
  const host = o.host ?? '127.0.0.1';
  const port = async (p?: number) => p ?? (await freePort(host));
  const urlOf = (p: number) => `http://${host}:${p}`;
  const ports = { ent: await port(o.ports?.ent), saml: await port(o.ports?.saml), cas: await port(o.ports?.cas), oidc: await port(o.ports?.oidc) };
  const urls = { ent: urlOf(ports.ent), saml: urlOf(ports.saml), cas: urlOf(ports.cas), oidc: urlOf(ports.oidc) };
  const brokerUrl = o.brokerUrl.replace(/\/$/, '');

  const ent = buildTestEnt({
    base: urls.ent,
    brokerUrl,
    entId: DEMO.entId,
    name: 'ENT de démonstration',
    // Signed at each call: the demo may run longer than a token lives.
    entToken: () => o.sign({ sub: 'demo-ent-media-centre', role: 'ent', entId: DEMO.entId }),
    people: [
      { ...DEMO.pupil, uai: DEMO.uai },
      { ...DEMO.teacher, uai: DEMO.uai },
    ],
    otherLinks: [{ name: 'Physique-chimie 3e (non attribuée)', resourceId: DEMO.resources.unassigned }],
    keys: newKeyPair('ENT de démonstration'),
    ...(o.switches ? { switches: o.switches } : {}),
    ...(o.resourceService ? { resourceService: o.resourceService } : {}),
  });
  const saml = samlPublisher({ base: urls.saml, brokerUrl, name: 'Mathématiques 3e', colour: '#1d4ed8', protocol: 'SAML 2.0', keys: newKeyPair('publisher SP') });
  const cas = casPublisher({ base: urls.cas, brokerUrl, name: 'Histoire-géographie', colour: '#9a3412', protocol: 'CAS 3.0' });
  const oidc = oidcPublisher({ base: urls.oidc, brokerUrl, name: 'Anglais 3e', colour: '#6b21a8', protocol: 'OpenID Connect', resourceId: DEMO.resources.oidc });

  const apps: FastifyInstance[] = [];
  const close = async () => {
    await Promise.all(apps.map((a) => a.close()));
  };
  try {
    for (const [app, p] of [[ent, ports.ent], [saml.app, ports.saml], [cas.app, ports.cas], [oidc.app, ports.oidc]] as const) {
      await app.listen({ port: p, host });
      apps.push(app);
    }
    const entMetadataXml = await (await fetch(`${urls.ent}/idp/metadata`)).text();
    const world = await buildDemoWorld(
      brokerUrl,
      o.sign,
      {
        entMetadataXml,
        saml: { metadataXml: saml.metadata(), resourceUrl: saml.resourceUrl },
        cas: { service: cas.service },
        oidc: { redirectUri: oidc.redirectUri, resourceUrl: `${urls.oidc}/` },
      },
      o.log,
    );
    oidc.setClient(world.oidcClient);
  } catch (err) {
    await close();
    throw err;
  }
  return { urls, close };
}
