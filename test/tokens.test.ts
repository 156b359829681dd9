import { createHmac, generateKeyPairSync } from 'node:crypto';
import t, { type Test } from 'tap';
import { createSigner } from 'fast-jwt';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, TEST_JWT_SECRET } from './helper.js';

/*
 * Every way a token can be wrong is a 401 problem+json, on a route every role may call; the same
 * claims correctly signed are accepted, so each refusal is about the one thing that is wrong.
 */

const b64url = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const nowSec = () => Math.floor(Date.now() / 1000);

/** A token signed by hand: any header, any key, or none at all. */
function handMade(header: Record<string, unknown>, claims: Record<string, unknown>, hmacKey?: string | Buffer): string {
  const head = `${b64url(header)}.${b64url(claims)}`;
  const sig = hmacKey === undefined ? '' : createHmac('sha256', hmacKey).update(head).digest('base64url');
  return `${head}.${sig}`;
}

const op = { sub: 'op-1', role: 'operator' };

/** A fast-jwt signer whose tokens expire in an hour unless the claims say otherwise (tokens must expire). */
function expiring(options: { key: string | Buffer; algorithm?: 'HS256' | 'RS256' | 'ES256' | 'PS256' | 'RS512' | 'ES384' }) {
  const sign = createSigner({ ...options, key: options.key }) as (claims: Record<string, unknown>) => string;
  return (claims: Record<string, unknown>): string => sign({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims });
}

async function expect401(t: Test, app: FastifyInstance, token: string | null, what: string, rawHeader?: string) {
  const res = await app.inject({
    method: 'GET',
    url: '/v1/attributes',
    headers: rawHeader !== undefined ? { authorization: rawHeader } : token === null ? {} : { authorization: `Bearer ${token}` },
  });
  t.equal(res.statusCode, 401, `${what}: 401 ${res.statusCode === 401 ? '' : res.body.slice(0, 200)}`);
  t.match(String(res.headers['content-type']), /^application\/problem\+json/, `${what}: problem+json`);
  t.match(res.json(), { status: 401, title: 'Unauthorized' }, `${what}: a problem body`);
}

async function expect200(t: Test, app: FastifyInstance, token: string, what: string) {
  const res = await app.inject({ method: 'GET', url: '/v1/attributes', headers: { authorization: `Bearer ${token}` } });
  t.equal(res.statusCode, 200, `${what}: accepted (control) ${res.statusCode === 200 ? '' : res.body.slice(0, 200)}`);
}

t.test('HS256 secret: forged, expired, early, unsigned and malformed tokens are 401', async (t) => {
  const { app } = await buildTestApp(t);
  const sign = expiring({ key: TEST_JWT_SECRET, algorithm: 'HS256' });
  const other = expiring({ key: 'another-secret-that-is-also-long-enough-0123456789', algorithm: 'HS256' });

  await expect200(t, app, sign(op), 'a good HS256 token');
  await expect200(t, app, handMade({ alg: 'HS256', typ: 'JWT' }, { ...op, exp: nowSec() + 3600 }, TEST_JWT_SECRET), 'a hand-signed good token');

  await expect401(t, app, null, 'no Authorization header');
  await expect401(t, app, null, 'a Basic header', `Basic ${Buffer.from('a:b').toString('base64')}`);
  await expect401(t, app, null, 'an empty bearer', 'Bearer ');
  await expect401(t, app, 'not.a.jwt', 'garbage');
  await expect401(t, app, handMade({ alg: 'none', typ: 'JWT' }, op), 'alg: none');
  await expect401(t, app, handMade({ alg: 'none' }, op) + 'x', 'alg: none with a junk signature');
  await expect401(t, app, handMade({ alg: 'HS384', typ: 'JWT' }, op, TEST_JWT_SECRET), 'another algorithm than the pinned one');
  await expect401(t, app, other(op), 'signed with another secret');
  const good = sign(op).split('.');
  await expect401(t, app, [good[0], b64url({ ...op, role: 'ministry' }), good[2]].join('.'), 'claims changed after signing');
  await expect401(t, app, sign({ ...op, exp: nowSec() - 60 }), 'expired');
  await expect401(t, app, sign({ ...op, nbf: nowSec() + 3600 }), 'not yet valid (nbf in the future)');
  await expect401(t, app, sign({ ...op, iat: nowSec() + 3600, nbf: nowSec() + 3600, exp: nowSec() + 7200 }), 'issued in the future');
});

t.test('claims: no sub, no or unknown role, a scoped role without its scope claim, a malformed uai are 401', async (t) => {
  const { app } = await buildTestApp(t);
  const sign = expiring({ key: TEST_JWT_SECRET, algorithm: 'HS256' });
  await expect200(t, app, sign({ sub: 'p', role: 'publisher', publisherId: 'P1' }), 'publisher with publisherId');
  await expect200(t, app, sign({ sub: 'e', role: 'ent', entId: 'Z0' }), 'ent with entId');
  await expect200(t, app, sign({ sub: 'x', role: 'establishment', uai: ['0650001Y'] }), 'establishment with uai');

  await expect401(t, app, sign({ role: 'operator' }), 'no sub');
  await expect401(t, app, sign({ sub: '', role: 'operator' }), 'empty sub');
  await expect401(t, app, sign({ sub: 'x' }), 'no role');
  await expect401(t, app, sign({ sub: 'x', role: 'admin' }), 'unknown role');
  await expect401(t, app, sign({ sub: 'x', role: 'OPERATOR' }), 'role in the wrong case');
  await expect401(t, app, sign({ sub: 'x', role: ['operator'] }), 'role as an array');

  for (const [role, claim] of [
    ['publisher', 'publisherId'],
    ['ent', 'entId'],
    ['establishment', 'uai'],
  ] as const) {
    await expect401(t, app, sign({ sub: 'x', role }), `${role} without "${claim}"`);
    await expect401(t, app, sign({ sub: 'x', role, [claim]: '' }), `${role} with an empty "${claim}"`);
    await expect401(t, app, sign({ sub: 'x', role, [claim]: 42 }), `${role} with a numeric "${claim}"`);
    await expect401(t, app, sign({ sub: 'x', role, [claim]: { id: 'P1' } }), `${role} with an object "${claim}"`);
  }
  // Another role's scope claim does not stand in for the right one.
  await expect401(t, app, sign({ sub: 'x', role: 'publisher', entId: 'Z0' }), 'publisher carrying an entId only');
  await expect401(t, app, sign({ sub: 'x', role: 'ent', publisherId: 'P1' }), 'ent carrying a publisherId only');
  await expect401(t, app, sign({ sub: 'x', role: 'publisher', publisherId: 'P'.repeat(200) }), 'an oversized publisherId');

  for (const [uai, what] of [
    [[], 'an empty uai array'],
    [['0650001'], 'a UAI without its letter'],
    [['0650001y'], 'a lower-case check letter'],
    [['0650001A'], 'a UAI whose check letter does not match'],
    [['0650001Y', 'nope'], 'one bad UAI among good ones'],
    [[123], 'a numeric UAI'],
    [[['0650001Y']], 'a nested array'],
    ['0650001Y; 0690037R', 'a list in a string'],
    [null, 'null'],
  ] as const) {
    await expect401(t, app, sign({ sub: 'x', role: 'establishment', uai }), `establishment with ${what}`);
  }
});

t.test('issuer and audience, when configured, are required and must match', async (t) => {
  const { app } = await buildTestApp(t, { config: { jwtIssuer: 'https://idp.gar.test', jwtAudience: 'gar-broker' } });
  const sign = expiring({ key: TEST_JWT_SECRET, algorithm: 'HS256' });
  const good = { ...op, iss: 'https://idp.gar.test', aud: 'gar-broker' };
  await expect200(t, app, sign(good), 'right issuer and audience');
  await expect200(t, app, sign({ ...good, aud: ['other', 'gar-broker'] }), 'an audience list naming the broker');
  await expect401(t, app, sign({ ...good, iss: 'https://evil.test' }), 'wrong issuer');
  await expect401(t, app, sign({ ...good, aud: 'another-service' }), 'wrong audience');
  await expect401(t, app, sign({ ...good, aud: ['another-service'] }), 'an audience list without the broker');
  const { iss: _iss, ...noIss } = good;
  const { aud: _aud, ...noAud } = good;
  await expect401(t, app, sign(noIss), 'no issuer');
  await expect401(t, app, sign(noAud), 'no audience');
  await expect401(t, app, sign({ ...good, iss: 'https://IDP.gar.test' }), 'issuer differing in case');
});

for (const kind of ['rsa', 'ec'] as const) {
  const alg = kind === 'rsa' ? 'RS256' : 'ES256';
  t.test(`${alg} public key: HS256 with the public key, alg none, another key and another algorithm are 401`, async (t) => {
    const pair = () =>
      kind === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
        : generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    const mine = pair();
    const theirs = pair();
    const { app } = await buildTestApp(t, { config: { jwtSecret: undefined, jwtPublicKey: mine.publicKey } });
    const sign = expiring({ key: mine.privateKey, algorithm: alg });

    await expect200(t, app, sign(op), `a good ${alg} token`);
    await expect401(t, app, handMade({ alg: 'HS256', typ: 'JWT' }, op, mine.publicKey), 'HS256 signed with the public key PEM');
    await expect401(t, app, handMade({ alg: 'HS256', typ: 'JWT' }, op, mine.publicKey.trim()), 'HS256 signed with the trimmed PEM');
    await expect401(t, app, handMade({ alg: 'HS256', typ: 'JWT' }, op, TEST_JWT_SECRET), 'HS256 with the test secret');
    await expect401(t, app, handMade({ alg: 'none', typ: 'JWT' }, op), 'alg: none');
    await expect401(t, app, expiring({ key: theirs.privateKey, algorithm: alg })(op), `${alg} signed with another key`);
    if (kind === 'rsa') {
      await expect401(t, app, expiring({ key: mine.privateKey, algorithm: 'PS256' })(op), 'PS256 with the right key (not pinned)');
      await expect401(t, app, expiring({ key: mine.privateKey, algorithm: 'RS512' })(op), 'RS512 with the right key (not pinned)');
    } else {
      const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
      await expect401(t, app, expiring({ key: p384.privateKey, algorithm: 'ES384' })(op), 'ES384 with another curve');
    }
    await expect401(t, app, sign({ ...op, exp: nowSec() - 60 }), `expired ${alg}`);
    await expect401(t, app, sign({ ...op, nbf: nowSec() + 3600 }), `not yet valid ${alg}`);
    await expect401(t, app, sign({ sub: 'x', role: 'ent' }), `${alg} ent without entId`);
  });
}

t.test('tokens must expire, not be issued in the future, and live no longer than allowed (issue 11, item 5)', async (t) => {
  const { app } = await buildTestApp(t, { config: { jwtMaxLifetimeSeconds: 86_400, jwtMachineMaxLifetimeSeconds: 30 * 86_400, jwtMachineClients: ['ent-server-z0'] } });
  const bare = createSigner({ key: TEST_JWT_SECRET, algorithm: 'HS256' });
  const now = nowSec();
  await expect401(t, app, bare(op), 'no exp');
  await expect401(t, app, bare({ ...op, iat: now + 10 * 365 * 86_400, exp: now + 20 * 365 * 86_400 }), 'iat ten years ahead, exp twenty');
  await expect401(t, app, bare({ ...op, iat: now + 300, exp: now + 3600 }), 'iat five minutes ahead');
  await expect200(t, app, bare({ ...op, iat: now + 30, exp: now + 3600 }), 'iat within the clock skew');
  await expect401(t, app, bare({ ...op, exp: now + 2 * 86_400 }), 'two days for a person');
  await expect401(t, app, bare({ ...op, iat: now - 3600, exp: now + 86_400 }), 'exp - iat over a day');
  await expect200(t, app, bare({ ...op, exp: now + 86_000 }), 'just under a day');
  const machine = { sub: 'ent-server-z0', role: 'ent', entId: 'Z0' };
  await expect200(t, app, bare({ ...machine, exp: now + 7 * 86_400 }), 'a week for a declared machine client');
  await expect401(t, app, bare({ ...machine, exp: now + 60 * 86_400 }), 'two months even for a machine client');
  await expect401(t, app, bare({ ...machine, sub: 'ent-server-z1', exp: now + 7 * 86_400 }), 'a week for an undeclared one');
  const res = await app.inject({ method: 'GET', url: '/v1/attributes', headers: { authorization: `Bearer ${bare(op)}` } });
  t.match(res.json().detail, /"exp"/, 'says why');
});

t.test('claims are validated like bodies: U+0000 and lone surrogates are a 401 (issue 11, item 6)', async (t) => {
  const { app } = await buildTestApp(t);
  const sign = expiring({ key: TEST_JWT_SECRET, algorithm: 'HS256' });
  await expect401(t, app, sign({ sub: 'op\u0000x', role: 'operator' }), 'NUL in sub');
  await expect401(t, app, sign({ sub: 'e', role: 'ent', entId: 'Z\u00000' }), 'NUL in entId');
  await expect401(t, app, sign({ sub: 'p', role: 'publisher', publisherId: 'P\ud800' }), 'lone surrogate in publisherId');
  await expect401(t, app, sign({ sub: 'x'.repeat(300), role: 'operator' }), 'a 300-character sub');
  const nulOperator = sign({ sub: 'op\u0000x', role: 'operator' });
  const created = await app.inject({
    method: 'POST',
    url: '/v1/publishers',
    headers: { authorization: `Bearer ${nulOperator}` },
    payload: { id: 'nul-pub', name: 'N', contactEmail: 'n@example.test' },
  });
  t.equal(created.statusCode, 401, 'no publisher is created by a token the audit trail cannot name');
  t.match(created.json().detail, /sub.*U\+0000/);
  const sso = await app.inject({
    method: 'POST',
    url: '/v1/sso',
    headers: { authorization: `Bearer ${sign({ sub: 'e', role: 'ent', entId: 'Z\u00000' })}` },
    payload: { uai: '0650001Y', personId: 'E1', resourceId: 'ark:/12345/maths-3e' },
  });
  t.equal(sso.statusCode, 401, 'SSO with a NUL entId is a 401, not a 500');
});
