import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { Selectable } from 'kysely';
import type { Database, OidcClientsTable } from '../../db/database.js';
import { errors, type FieldError } from '../../errors.js';

export const AUTH_METHODS = ['client_secret_basic', 'private_key_jwt', 'none'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

/** What a resource declares to be reached through the broker's OpenID provider. */
export const OidcInput = Type.Object(
  {
    redirectUris: Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), {
      minItems: 1,
      maxItems: 10,
      description: 'redirect URIs, matched exactly; https (http only for localhost), no fragment',
    }),
    tokenEndpointAuthMethod: Type.Optional(
      Type.Union(AUTH_METHODS.map((m) => Type.Literal(m)), {
        default: 'client_secret_basic',
        description: '`none` is a public client, which must use PKCE (S256)',
      }),
    ),
    jwks: Type.Optional(
      Type.Object({ keys: Type.Array(Type.Object({}, { additionalProperties: true }), { minItems: 1, maxItems: 10 }) }, {
        description: 'private_key_jwt: the client’s public keys',
      }),
    ),
    jwksUri: Type.Optional(Type.String({ maxLength: 2048, pattern: '^https://[^\\s]+$', description: 'private_key_jwt: where the client publishes its keys' })),
  },
  { additionalProperties: false, title: 'OidcRegistration' },
);
export type OidcInput = Static<typeof OidcInput>;

export const OidcView = Type.Object({
  clientId: Type.String(),
  redirectUris: Type.Array(Type.String()),
  tokenEndpointAuthMethod: Type.Union(AUTH_METHODS.map((m) => Type.Literal(m))),
});
export type OidcView = Static<typeof OidcView>;

export const OidcWritten = Type.Object({
  ...OidcView.properties,
  clientSecret: Type.Optional(
    Type.String({ description: 'client_secret_basic: shown once, at creation and at rotation; the broker does not store it' }),
  ),
});
export type OidcWritten = Static<typeof OidcWritten>;

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export function resolveOidcInput(input: OidcInput): { redirectUris: string[]; method: AuthMethod } {
  const problems: FieldError[] = [];
  const method = input.tokenEndpointAuthMethod ?? 'client_secret_basic';
  input.redirectUris.forEach((raw, i) => {
    const path = `body/oidc/redirectUris/${i}`;
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      return problems.push({ path, message: 'is not an absolute URL' });
    }
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && LOCAL_HOSTS.has(u.hostname))) {
      return problems.push({ path, message: 'must be an https URL (http only for localhost or 127.0.0.1)' });
    }
    if (u.hash || raw.includes('#')) return problems.push({ path, message: 'must not carry a fragment' });
  });
  if (method === 'private_key_jwt' && !input.jwks && !input.jwksUri) {
    problems.push({ path: 'body/oidc', message: 'private_key_jwt needs jwks or jwksUri' });
  }
  if (method !== 'private_key_jwt' && (input.jwks || input.jwksUri)) {
    problems.push({ path: 'body/oidc', message: 'jwks and jwksUri are for private_key_jwt only' });
  }
  if (problems.length > 0) throw errors.validation(problems.map((p) => `${p.path} ${p.message}`).join('; '), problems);
  return { redirectUris: input.redirectUris, method };
}

/**
 * A confidential client's secret: HMAC of its id and a stored random salt under a key derived from
 * IDO_SECRET. Nothing in the database alone gives the secret; rotating is a new salt.
 */
export function clientSecretOf(idoSecretHex: string, clientId: string, salt: string): string {
  const key = Buffer.from(hkdfSync('sha256', Buffer.from(idoSecretHex, 'hex'), Buffer.alloc(0), 'gar-broker oidc client secret', 32));
  return createHmac('sha256', key).update(`${clientId}:${salt}`).digest('base64url');
}

const newClientId = () => `gar-${randomBytes(12).toString('base64url')}`;
const newSalt = () => randomBytes(16).toString('base64url');

type ClientRow = Pick<Selectable<OidcClientsTable>, 'client_id' | 'resource_id' | 'redirect_uris' | 'auth_method' | 'jwks' | 'jwks_uri' | 'secret_salt'>;
const COLUMNS = ['client_id', 'resource_id', 'redirect_uris', 'auth_method', 'jwks', 'jwks_uri', 'secret_salt'] as const;

export const oidcView = (r: Pick<ClientRow, 'client_id' | 'redirect_uris' | 'auth_method'>): OidcView => ({
  clientId: r.client_id,
  redirectUris: r.redirect_uris,
  tokenEndpointAuthMethod: r.auth_method,
});

/**
 * Creates or replaces the resource's client (the client id is kept). The secret is returned when a
 * new one exists: at creation, or when the method becomes client_secret_basic.
 */
export async function saveOidcClient(
  db: Kysely<Database>,
  resourceId: string,
  input: OidcInput | undefined,
  idoSecret: string,
  now: Date,
): Promise<OidcWritten | undefined> {
  const existing = await db.selectFrom('oidc_clients').select(COLUMNS).where('resource_id', '=', resourceId).executeTakeFirst();
  if (!input) {
    if (existing) await db.deleteFrom('oidc_clients').where('resource_id', '=', resourceId).execute();
    return undefined;
  }
  const { redirectUris, method } = resolveOidcInput(input);
  const keepSalt = existing?.auth_method === 'client_secret_basic' && method === 'client_secret_basic' ? existing.secret_salt : null;
  const salt = method === 'client_secret_basic' ? (keepSalt ?? newSalt()) : null;
  const values = {
    redirect_uris: redirectUris,
    auth_method: method,
    jwks: input.jwks ? JSON.stringify(input.jwks) : null,
    jwks_uri: input.jwksUri ?? null,
    secret_salt: salt,
    updated_at: now,
  };
  const clientId = existing?.client_id ?? newClientId();
  if (existing) await db.updateTable('oidc_clients').set(values).where('client_id', '=', clientId).execute();
  else await db.insertInto('oidc_clients').values({ client_id: clientId, resource_id: resourceId, created_at: now, ...values }).execute();
  const view = oidcView({ client_id: clientId, redirect_uris: redirectUris, auth_method: method });
  return salt && salt !== keepSalt ? { ...view, clientSecret: clientSecretOf(idoSecret, clientId, salt) } : view;
}

/** A new secret for a client_secret_basic client; the old one stops working at once. */
export async function rotateOidcSecret(db: Kysely<Database>, resourceId: string, idoSecret: string, now: Date): Promise<OidcWritten> {
  const row = await db.selectFrom('oidc_clients').select(COLUMNS).where('resource_id', '=', resourceId).executeTakeFirst();
  if (!row) throw errors.notFound('OpenID client of resource', resourceId);
  if (row.auth_method !== 'client_secret_basic') throw errors.conflict(`the client authenticates with ${row.auth_method}: it has no secret`);
  const salt = newSalt();
  await db.updateTable('oidc_clients').set({ secret_salt: salt, updated_at: now }).where('client_id', '=', row.client_id).execute();
  return { ...oidcView(row), clientSecret: clientSecretOf(idoSecret, row.client_id, salt) };
}

export async function oidcViews(db: Kysely<Database>, resourceIds: string[]): Promise<Map<string, OidcView>> {
  if (resourceIds.length === 0) return new Map();
  const rows = await db.selectFrom('oidc_clients').select(COLUMNS).where('resource_id', 'in', resourceIds).execute();
  return new Map(rows.map((r) => [r.resource_id, oidcView(r)]));
}

export async function findOidcClient(db: Kysely<Database>, clientId: string): Promise<ClientRow | undefined> {
  return db.selectFrom('oidc_clients').select(COLUMNS).where('client_id', '=', clientId).executeTakeFirst();
}
