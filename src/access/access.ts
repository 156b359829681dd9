import type { DatabaseHandle } from '../db/connect.js';
import { AppError } from '../errors.js';
import type { AccessLogRow, AccessLogWriter } from '../modules/access-log/access-log.writer.js';
import type { Metrics } from '../modules/metrics/metrics.js';
import { decisionFacts, type DecisionFacts } from '../modules/sso/sso.repository.js';
import { isGranted, refusalReason, refusalText, releasedAttributes, type RefusalReason } from '../modules/sso/sso.service.js';
import { personHash } from '../modules/data-subjects/rights-records.js';
import type { Door } from './doors.js';

/** What a door knows once it has translated its protocol's request. */
export interface AccessRequest {
  door: Door;
  entId: string;
  personId: string;
  /** Absent: the person's present establishments in the project, `uaiHint` first; the first that grants. */
  uai?: string;
  uaiHint?: string | null;
  resourceId: string;
  clientIp: string | null;
  requestId: string;
}

export interface ReleasedAttribute {
  name: string;
  values: string[];
}

type GrantedFacts = DecisionFacts & {
  person: NonNullable<DecisionFacts['person']>;
  resource: NonNullable<DecisionFacts['resource']>;
};

/** What a door may translate into its protocol's answer: nothing else about the person leaves. */
export interface Grant {
  door: Door;
  entId: string;
  uai: string;
  personId: string;
  /** The pseudonymous identifier (also in `attributes` as IDO). */
  ido: string;
  /** Approved ∩ applicable, values scoped to the establishment, dictionary order, IDO first. */
  attributes: ReleasedAttribute[];
  profiles: string[];
  resource: GrantedFacts['resource'];
  at: Date;
}

/** What the door built; the ids go into the access-log row. */
export interface Issued<T> {
  artefact: T;
  responseId?: string | null;
  keyId?: string | null;
  /** Names logged as released, when the door releases less than the grant (a redirect releases nothing). */
  attributes?: string[];
}

/** A refusal, in the one vocabulary every door translates (JSON problem, page, SAML status, OIDC error). */
export class AccessRefused extends AppError {
  constructor(
    readonly reason: RefusalReason,
    /** What is known, for a page that names the resource and establishment. */
    readonly context: { uai: string | null; resourceId: string; entId: string },
  ) {
    super(403, 'access-refused', 'Access refused', refusalText(reason), { reason });
    this.name = 'AccessRefused';
  }
}

export interface AccessDeps {
  database: Pick<DatabaseHandle, 'db' | 'prepared'>;
  clock: () => Date;
  accessLog: Pick<AccessLogWriter, 'write'>;
  metrics: Pick<Metrics, 'ssoDecisions'>;
  idoSecret: string;
  log: { error: (obj: object, msg: string) => void };
}

export interface Access {
  /**
   * Decide, release, let the door build its answer, record: the one path of every door.
   * Refused: the row is written, then AccessRefused is thrown. The door's `issue` failing: an `error`
   * row, then its error is rethrown. Granted: the row is durable before the artefact is returned.
   * A row that cannot be written means nothing is issued (503).
   */
  open<T>(req: AccessRequest, issue: (grant: Grant) => Issued<T> | Promise<Issued<T>>): Promise<T>;
}

export function createAccess(deps: AccessDeps): Access {
  async function record(row: AccessLogRow, door: Door): Promise<void> {
    try {
      await deps.accessLog.write(row);
    } catch (err) {
      deps.metrics.ssoDecisions.inc({ door, outcome: 'error', reason: 'access_log_unwritable' });
      deps.log.error({ err: { message: (err as Error).message, code: (err as { code?: string }).code }, door }, 'access log write failed');
      // No row, no answer: a decision is never issued when it cannot be recorded.
      throw Object.assign(
        new AppError(503, 'unavailable', 'Service unavailable', 'the access log cannot be written; nothing was issued'),
        { cause: err, accessLogUnwritable: true },
      );
    }
  }

  async function decide(req: AccessRequest, now: Date): Promise<{ uai: string; facts: DecisionFacts; reason: RefusalReason | null }> {
    // Objections and restrictions outlive the directory data: looked up by the person's keyed hash.
    const hash = personHash(deps.idoSecret, req.entId, req.personId);
    const read = (uai: string | null) =>
      decisionFacts(deps.database, { entId: req.entId, uai, hint: req.uaiHint ?? null, personId: req.personId, resourceId: req.resourceId, now, personHash: hash });
    if (req.uai !== undefined) {
      const { facts } = await read(req.uai);
      return { uai: req.uai, facts, reason: refusalReason(facts, req.entId) };
    }
    // One round trip: where the person is present, and the facts at the first place to try.
    const first = await read(null);
    if (first.present.length === 0) {
      // Not present anywhere in the project: the hint (if any) says where the decision was asked.
      const uai = req.uaiHint ?? '';
      return { uai, facts: uai ? first.facts : emptyFacts(), reason: 'unknown_person' };
    }
    const { present } = first;
    const ordered = req.uaiHint && present.includes(req.uaiHint) ? [req.uaiHint, ...present.filter((u) => u !== req.uaiHint)] : present;
    let refused: { uai: string; facts: DecisionFacts; reason: RefusalReason | null } | undefined;
    for (const uai of ordered) {
      const facts = uai === first.uai ? first.facts : (await read(uai)).facts;
      const reason = refusalReason(facts, req.entId);
      if (reason === null) return { uai, facts, reason };
      refused ??= { uai, facts, reason };
    }
    return refused!;
  }

  return {
    async open<T>(req: AccessRequest, issue: (grant: Grant) => Issued<T> | Promise<Issued<T>>): Promise<T> {
      const now = deps.clock();
      const { uai, facts, reason } = await decide(req, now);
      const row: AccessLogRow = {
        at: now,
        door: req.door,
        ent_id: req.entId,
        uai,
        person_ref: facts.person?.ref ?? null,
        profile: facts.person?.profiles.join(' ') || null,
        resource_id: req.resourceId,
        publisher_id: facts.resource?.publisherId ?? null,
        client_ip: req.clientIp,
        request_id: req.requestId,
        outcome: 'refused',
        reason: null,
      };
      if (reason !== null || !isGranted(facts)) {
        const why = reason ?? 'unknown_person';
        await record({ ...row, reason: why }, req.door);
        deps.metrics.ssoDecisions.inc({ door: req.door, outcome: 'refused', reason: why });
        throw new AccessRefused(why, { uai: uai || null, resourceId: req.resourceId, entId: req.entId });
      }
      const granted = facts as GrantedFacts;
      const { ido, attributes } = releasedAttributes(granted, { idoSecret: deps.idoSecret, uai, entId: req.entId, personId: req.personId });
      const grant: Grant = {
        door: req.door,
        entId: req.entId,
        uai,
        personId: req.personId,
        ido,
        attributes,
        profiles: granted.person.profiles,
        resource: granted.resource,
        at: now,
      };
      let issued: Issued<T>;
      try {
        issued = await issue(grant);
      } catch (err) {
        // The decision was a grant but nothing left: the row says so, then the door reports its error.
        await record({ ...row, outcome: 'error', reason: 'issue_failed' }, req.door);
        deps.metrics.ssoDecisions.inc({ door: req.door, outcome: 'error', reason: 'issue_failed' });
        throw err;
      }
      await record(
        {
          ...row,
          outcome: 'granted',
          attributes: issued.attributes ?? attributes.map((a) => a.name),
          key_id: issued.keyId ?? null,
          response_id: issued.responseId ?? null,
        },
        req.door,
      );
      deps.metrics.ssoDecisions.inc({ door: req.door, outcome: 'granted', reason: 'none' });
      return issued.artefact;
    },
  };
}

function emptyFacts(): DecisionFacts {
  return { establishmentEntId: null, degree: 2, person: null, resource: null, subscriptions: { valid: 0, expired: 0, notStarted: 0 }, assigned: false };
}
