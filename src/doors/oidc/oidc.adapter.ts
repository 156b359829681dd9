import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import { clientSecretOf, findOidcClient } from './oidc.clients.js';

type Payload = Record<string, unknown>;

/**
 * oidc-provider's storage in PostgreSQL, so that every replica sees the same codes, tokens, grants,
 * sessions and interactions. One instance per model name (the provider's contract). Clients are
 * not stored here: they are read from oidc_clients, the resource API's registrations.
 */
export class PgAdapter {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly kind: string,
    private readonly idoSecret: string,
  ) {}

  async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
    const expiresAt = typeof expiresIn === 'number' ? new Date(Date.now() + expiresIn * 1000) : null;
    const row = {
      kind: this.kind,
      id,
      payload: JSON.stringify(payload),
      grant_id: typeof payload.grantId === 'string' ? payload.grantId : null,
      uid: typeof payload.uid === 'string' ? payload.uid : null,
      user_code: typeof payload.userCode === 'string' ? payload.userCode : null,
      expires_at: expiresAt,
    };
    await this.db
      .insertInto('oidc_payloads')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['kind', 'id']).doUpdateSet({
          payload: row.payload,
          grant_id: row.grant_id,
          uid: row.uid,
          user_code: row.user_code,
          expires_at: row.expires_at,
          consumed_at: null,
        }),
      )
      .execute();
  }

  async find(id: string): Promise<Payload | undefined> {
    if (this.kind === 'Client') return this.client(id);
    return this.one(sql`id = ${id}`);
  }

  async findByUid(uid: string): Promise<Payload | undefined> {
    return this.one(sql`uid = ${uid}`);
  }

  async findByUserCode(userCode: string): Promise<Payload | undefined> {
    return this.one(sql`user_code = ${userCode}`);
  }

  async consume(id: string): Promise<void> {
    await this.db.updateTable('oidc_payloads').set({ consumed_at: new Date() }).where('kind', '=', this.kind).where('id', '=', id).execute();
  }

  async destroy(id: string): Promise<void> {
    await this.db.deleteFrom('oidc_payloads').where('kind', '=', this.kind).where('id', '=', id).execute();
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    // Every artefact of a grant, whatever its kind: a replayed code revokes the tokens it gave.
    await this.db.deleteFrom('oidc_payloads').where('grant_id', '=', grantId).execute();
  }

  private async one(where: ReturnType<typeof sql>): Promise<Payload | undefined> {
    const { rows } = await sql<{ payload: Payload | string; consumed_at: Date | null }>`
      select payload, consumed_at from oidc_payloads
      where kind = ${this.kind} and ${where} and (expires_at is null or expires_at > now())
      limit 1`.execute(this.db);
    const r = rows[0];
    if (!r) return undefined;
    const payload = (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as Payload;
    return r.consumed_at ? { ...payload, consumed: Math.floor(new Date(r.consumed_at).getTime() / 1000) } : payload;
  }

  private async client(clientId: string): Promise<Payload | undefined> {
    const c = await findOidcClient(this.db, clientId);
    if (!c) return undefined;
    return {
      client_id: c.client_id,
      redirect_uris: c.redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: c.auth_method,
      ...(c.auth_method === 'client_secret_basic' && c.secret_salt ? { client_secret: clientSecretOf(this.idoSecret, c.client_id, c.secret_salt) } : {}),
      ...(c.jwks ? { jwks: c.jwks } : {}),
      ...(c.jwks_uri ? { jwks_uri: c.jwks_uri } : {}),
      gar_resource: c.resource_id,
    };
  }
}

/** Expired rows go a while after their expiry (the provider ignores them already). */
export async function sweepOidcPayloads(db: Kysely<Database>): Promise<void> {
  await sql`delete from oidc_payloads where expires_at < now() - interval '10 minutes'`.execute(db);
}
