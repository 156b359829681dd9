import { loadSettings } from '../src/config.js';
import { devSigner } from './lib/dev-token.js';

/**
 * `npm run demo`: with the server running (`npm start`), builds a small world through the API —
 * an ENT project, a school and its directory, a publisher, a resource with its SP, an approved
 * data request, a subscription and an assignment — then prints a curl call that returns a signed
 * SAML Response. Safe to run twice: what exists already is kept.
 */
const settings = loadSettings(process.env);
const base = process.env.DEMO_URL ?? `http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${settings.port}`;
const sign = devSigner(settings);
const UAI = '0650001Y';
const ARK = 'ark:/99999/demo-maths-3e';
const tokens = {
  operator: sign({ sub: 'demo-operator', role: 'operator' }),
  ministry: sign({ sub: 'demo-reviewer', role: 'ministry' }),
  publisher: sign({ sub: 'demo-publisher', role: 'publisher', publisherId: 'editions-demo' }),
  ent: sign({ sub: 'demo-ent', role: 'ent', entId: 'DEMO' }),
  establishment: sign({ sub: 'demo-head', role: 'establishment', uai: [UAI] }),
};

async function call(role: keyof typeof tokens, method: string, path: string, body?: unknown, okConflict = true): Promise<any> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${tokens[role]}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : undefined;
  if (res.status === 409 && okConflict) {
    console.log(`  = ${method} ${path} (already there)`);
    return data;
  }
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
  console.log(`  ✓ ${method} ${path} → ${res.status}`);
  return data;
}

console.log(`building the demo world on ${base}`);
await call('operator', 'POST', '/v1/ent-projects', { id: 'DEMO', name: 'ENT de démonstration', kind: 'ent' });
await call('operator', 'PUT', `/v1/ent-projects/DEMO/establishments/${UAI}`, { name: 'Collège Jean Moulin' });
await call('ent', 'PUT', `/v1/establishments/${UAI}/directory`, {
  establishment: { name: 'Collège Jean Moulin' },
  people: [
    { id: 'DEMO-E1', lastName: 'Martin', firstName: 'Léa', civility: 'Mme', profiles: [{ uai: UAI, profile: 'National_elv' }], mefs: ['10310019110'] },
    { id: 'DEMO-P1', lastName: 'Durand', firstName: 'Paul', civility: 'M.', profiles: [{ uai: UAI, profile: 'National_ens' }], emails: ['paul.durand@ac-demo.fr'] },
  ],
  groups: [{ code: '3A', name: '3e A', kind: 'DIVISION' }],
  memberships: [{ personId: 'DEMO-E1', groupCode: '3A' }],
  teachings: [{ personId: 'DEMO-P1', groupCode: '3A', subjects: ['030201'] }],
  subjects: [{ code: '030201', name: 'Mathématiques' }],
  mefs: [{ code: '10310019110', name: '3EME' }],
});
await call('operator', 'POST', '/v1/publishers', { id: 'editions-demo', name: 'Éditions Démo', contactEmail: 'dpo@editions-demo.example' });
await call('publisher', 'POST', '/v1/resources', {
  id: ARK,
  name: 'Mathématiques 3e (démo)',
  typePresentation: 'MAN',
  sp: { entityId: 'https://editions-demo.example/saml/metadata', acsUrl: 'https://editions-demo.example/saml/acs' },
});
const rid = encodeURIComponent(ARK);
const existing = await call('publisher', 'GET', `/v1/resources/${rid}/data-requests`);
if (!existing.items?.some((r: { status: string }) => r.status === 'reviewed')) {
  const request = await call('publisher', 'POST', `/v1/resources/${rid}/data-requests`, {
    attributes: [
      { code: 'UAI', purpose: 'Rattacher l’élève à son établissement' },
      { code: 'PRO', purpose: 'Distinguer élèves et enseignants' },
      { code: 'DIV', purpose: 'Constituer les classes de l’enseignant' },
      { code: 'PRE', purpose: 'Afficher le prénom dans la copie' },
    ],
  });
  await call('ministry', 'POST', `/v1/data-requests/${request.id}/review`, {
    decisions: [
      { code: 'UAI', approved: true, comment: 'Nécessaire' },
      { code: 'PRO', approved: true, comment: 'Nécessaire' },
      { code: 'DIV', approved: true, comment: 'Nécessaire' },
      { code: 'PRE', approved: false, comment: 'Le pseudonyme suffit' },
    ],
  });
}
const year = new Date().getUTCFullYear();
await call('publisher', 'POST', '/v1/subscriptions', {
  id: 'ABO-DEMO-1',
  resourceId: ARK,
  uai: UAI,
  startsAt: `${year - 1}-09-01T00:00:00Z`,
  endsAt: `${year + 1}-09-01T00:00:00Z`,
  assignmentType: 'INDIV',
  audiences: ['ELEVE', 'ENSEIGNANT'],
  licences: { global: 'unlimited' },
});
await call('establishment', 'POST', `/v1/establishments/${UAI}/assignments`, { subscriptionId: 'ABO-DEMO-1', target: { type: 'division', id: '3A' } });

console.log(`
Done. The pupil DEMO-E1 may now open ${ARK}. Ask the broker for a signed SAML Response:

curl -s -X POST ${base}/v1/sso \\
  -H 'authorization: Bearer ${tokens.ent}' \\
  -H 'content-type: application/json' \\
  -d '{"uai":"${UAI}","personId":"DEMO-E1","resourceId":"${ARK}"}'

(add -H 'accept: text/html' for the page that posts it to the publisher; the broker's IdP
metadata is at ${base}/saml/metadata)`);
