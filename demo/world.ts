/*
 * The demo world, built through the broker's public API only (so the kit can be pointed at any
 * broker): an ENT project with its IdP, a school and its directory, three publishers each with a
 * resource reached by its own protocol, data requests reviewed by the ministry, subscriptions and
 * assignments, and one resource subscribed but given to no one. Safe to run twice.
 */

export type Signer = (claims: Record<string, unknown>) => string;

export const DEMO = {
  entId: 'DEMO',
  uai: '0650001Y',
  pupil: { id: 'DEMO-E1', label: 'Léa Martin — élève de 3e A' },
  teacher: { id: 'DEMO-P1', label: 'Paul Durand — professeur de mathématiques' },
  /** The head of the school, who assigns the resources (assignment policy `heads`). */
  head: { id: 'DEMO-D1', label: 'Claire Petit — principale' },
  resources: {
    saml: 'ark:/99999/demo-saml-maths',
    cas: 'ark:/99999/demo-cas-histoire',
    oidc: 'ark:/99999/demo-oidc-anglais',
    unassigned: 'ark:/99999/demo-saml-physique',
  },
} as const;

/** Per resource: the codes asked for, and the ministry's answer (true = approved). */
export const DATA_REQUESTS: Record<keyof typeof DEMO.resources, Record<string, boolean>> = {
  saml: { UAI: true, PRO: true, DIV: true, PRE: false },
  cas: { UAI: true, PRO: true, NOM: false },
  oidc: { UAI: true, PRO: true, PRE: true, NOM: false },
  unassigned: { UAI: true },
};

const PURPOSE: Record<string, string> = {
  UAI: 'Rattacher la personne à son établissement',
  PRO: 'Distinguer élèves et enseignants',
  DIV: 'Constituer les classes de l’enseignant',
  PRE: 'Afficher le prénom',
  NOM: 'Afficher le nom',
};

export interface WorldSites {
  entMetadataXml: string;
  saml: { metadataXml: string; resourceUrl: string };
  cas: { service: string };
  oidc: { redirectUri: string; resourceUrl: string };
}

export interface BuiltWorld {
  oidcClient: { id: string; secret: string };
}

export async function buildDemoWorld(brokerUrl: string, sign: Signer, sites: WorldSites, log: (line: string) => void = () => {}): Promise<BuiltWorld> {
  const { entId, uai } = DEMO;
  const publishers = { saml: 'demo-editions-saml', cas: 'demo-editions-cas', oidc: 'demo-editions-oidc' } as const;
  const token = {
    operator: sign({ sub: 'demo-operator', role: 'operator' }),
    ministry: sign({ sub: 'demo-reviewer', role: 'ministry' }),
    ent: sign({ sub: 'demo-ent', role: 'ent', entId }),
    establishment: sign({ sub: DEMO.head.id, role: 'establishment', uai: [uai] }),
    saml: sign({ sub: 'demo-publisher-saml', role: 'publisher', publisherId: publishers.saml }),
    cas: sign({ sub: 'demo-publisher-cas', role: 'publisher', publisherId: publishers.cas }),
    oidc: sign({ sub: 'demo-publisher-oidc', role: 'publisher', publisherId: publishers.oidc }),
  };
  type Who = keyof typeof token;

  async function call(who: Who, method: string, path: string, body?: unknown, okConflict = true): Promise<any> {
    const res = await fetch(`${brokerUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token[who]}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    const data = text ? JSON.parse(text) : undefined;
    if (res.status === 409 && okConflict) {
      log(`  = ${method} ${path} (already there)`);
      return data;
    }
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
    log(`  ✓ ${method} ${path} → ${res.status}`);
    return data;
  }

  await call('operator', 'POST', '/v1/ent-projects', { id: entId, name: 'ENT de démonstration', kind: 'ent' });
  await call('operator', 'PUT', `/v1/ent-projects/${entId}/assignment-policy`, { assignmentPolicy: ['respaff', 'heads'] });
  await call('operator', 'PUT', `/v1/ent-projects/${entId}/establishments/${uai}`, { name: 'Collège Jean Moulin' });
  await call('operator', 'PUT', `/v1/ent-projects/${entId}/idp`, { metadataXml: sites.entMetadataXml });
  await call('ent', 'PUT', `/v1/establishments/${uai}/directory`, {
    establishment: { name: 'Collège Jean Moulin' },
    people: [
      { id: DEMO.pupil.id, lastName: 'Martin', firstName: 'Léa', civility: 'Mme', profiles: [{ uai, profile: 'National_elv' }], mefs: ['10310019110'] },
      { id: DEMO.teacher.id, lastName: 'Durand', firstName: 'Paul', civility: 'M.', profiles: [{ uai, profile: 'National_ens' }], emails: ['paul.durand@ac-demo.fr'] },
      { id: DEMO.head.id, lastName: 'Petit', firstName: 'Claire', civility: 'Mme', profiles: [{ uai, profile: 'National_dir' }] },
    ],
    groups: [{ code: '3A', name: '3e A', kind: 'DIVISION' }],
    memberships: [{ personId: DEMO.pupil.id, groupCode: '3A' }],
    teachings: [{ personId: DEMO.teacher.id, groupCode: '3A', subjects: ['030201'] }],
    subjects: [{ code: '030201', name: 'Mathématiques' }],
    mefs: [{ code: '10310019110', name: '3EME' }],
  });

  await call('operator', 'POST', '/v1/publishers', { id: publishers.saml, name: 'Éditions Démo SAML', contactEmail: 'dpo@saml.demo.example' });
  await call('operator', 'POST', '/v1/publishers', { id: publishers.cas, name: 'Éditions Démo CAS', contactEmail: 'dpo@cas.demo.example' });
  await call('operator', 'POST', '/v1/publishers', { id: publishers.oidc, name: 'Éditions Démo OpenID', contactEmail: 'dpo@oidc.demo.example' });

  const R = DEMO.resources;
  const resources: Array<{ key: keyof typeof R; who: 'saml' | 'cas' | 'oidc'; body: Record<string, unknown> }> = [
    { key: 'saml', who: 'saml', body: { name: 'Mathématiques 3e (SAML)', resourceUrl: sites.saml.resourceUrl, sp: { metadataXml: sites.saml.metadataXml } } },
    { key: 'unassigned', who: 'saml', body: { name: 'Physique-chimie 3e (non attribuée)', resourceUrl: new URL('physique', sites.saml.resourceUrl).href, sp: { metadataXml: sites.saml.metadataXml } } },
    { key: 'cas', who: 'cas', body: { name: 'Histoire-géographie (CAS)', resourceUrl: sites.cas.service, cas: { serviceUrls: [sites.cas.service], backChannelLogout: true } } },
    { key: 'oidc', who: 'oidc', body: { name: 'Anglais 3e (OpenID Connect)', resourceUrl: sites.oidc.resourceUrl, oidc: { redirectUris: [sites.oidc.redirectUri] } } },
  ];
  let oidcClient: BuiltWorld['oidcClient'] | undefined;
  const year = new Date().getUTCFullYear();
  for (const r of resources) {
    const id = R[r.key];
    const rid = encodeURIComponent(id);
    // resourceUrl: where the entry link sends the browser, and how the SAML SP's RelayState names
    // the resource (the SP serves two).
    const body = { typePresentation: 'MAN', ...r.body };
    await call(r.who, 'POST', '/v1/resources', { id, ...body });
    // Again as a replacement: the sites' URLs and keys may have changed since a previous run.
    const written = await call(r.who, 'PUT', `/v1/resources/${rid}`, body);
    if (r.key === 'oidc') {
      const rotated = written.oidc?.clientSecret ? written.oidc : await call(r.who, 'POST', `/v1/resources/${rid}/oidc/secret`);
      oidcClient = { id: rotated.clientId, secret: rotated.clientSecret };
    }
    const asked = DATA_REQUESTS[r.key];
    const existing = await call(r.who, 'GET', `/v1/resources/${rid}/data-requests`);
    if (!existing.items?.some((d: { status: string }) => d.status === 'reviewed')) {
      const request = await call(r.who, 'POST', `/v1/resources/${rid}/data-requests`, {
        attributes: Object.keys(asked).map((code) => ({ code, purpose: PURPOSE[code] })),
      });
      await call('ministry', 'POST', `/v1/data-requests/${request.id}/review`, {
        decisions: Object.entries(asked).map(([code, approved]) => ({ code, approved, comment: approved ? 'Nécessaire' : 'Non nécessaire' })),
      });
    }
    const subscriptionId = `ABO-${r.key.toUpperCase()}`;
    await call(r.who, 'POST', '/v1/subscriptions', {
      id: subscriptionId,
      resourceId: id,
      uai,
      startsAt: `${year - 1}-09-01T00:00:00Z`,
      endsAt: `${year + 1}-09-01T00:00:00Z`,
      assignmentType: 'INDIV',
      audiences: ['ELEVE', 'ENSEIGNANT'],
      licences: { global: 'unlimited' },
    });
    const targets = { saml: [{ type: 'division', id: '3A' }], oidc: [{ type: 'division', id: '3A' }], cas: [{ type: 'person', id: DEMO.teacher.id }], unassigned: [] }[r.key];
    for (const target of targets) {
      await call('establishment', 'POST', `/v1/establishments/${uai}/assignments`, { subscriptionId, publisherId: publishers[r.who], target });
    }
  }
  return { oidcClient: oidcClient! };
}
