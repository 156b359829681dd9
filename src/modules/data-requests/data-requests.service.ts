import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import { errors, type FieldError } from '../../errors.js';
import { attributeByCode } from '../attributes/attribute-dictionary.js';
import type { DataRequestInput, ReviewInput } from './data-requests.schemas.js';
import {
  findRequest,
  insertRequest,
  lockResource,
  recordDecisions,
  replaceReleased,
  requestForReview,
  supersedePending,
  withdrawReleased,
} from './data-requests.repository.js';

/** Every code that cannot be requested, with why; an empty list when the request is acceptable. */
export function requestProblems(input: DataRequestInput): FieldError[] {
  const problems: FieldError[] = [];
  const seen = new Set<string>();
  input.attributes.forEach((a, i) => {
    const path = `body/attributes/${i}/code`;
    const def = attributeByCode(a.code);
    if (!def) {
      problems.push({
        path,
        message: `"${a.code}" is not in the attribute dictionary and can never be requested (birth date, birth name and other first names never are)`,
      });
    } else if (def.alwaysSent) {
      problems.push({ path, message: `"${a.code}" is always sent (it is the SAML subject) and is not requested` });
    } else if (seen.has(a.code)) {
      problems.push({ path, message: `"${a.code}" is listed more than once` });
    }
    seen.add(a.code);
  });
  return problems;
}

/**
 * Records a new request. It supersedes a pending one; the reviewed request in force stays in force,
 * except that the attributes the new request no longer lists stop being released at once. Nothing
 * is added to the released set until a review.
 */
export async function submitRequest(
  db: Kysely<Database>,
  resourceId: string,
  input: DataRequestInput,
  submittedBy: string,
  now: Date,
): Promise<{ id: string; withdrawn: string[] }> {
  const problems = requestProblems(input);
  if (problems.length > 0) {
    throw errors.validation(`${problems.length} attribute(s) cannot be requested`, problems);
  }
  return db.transaction().execute(async (trx) => {
    if (!(await lockResource(trx, resourceId))) throw errors.notFound('resource', resourceId);
    await supersedePending(trx, resourceId);
    const items = input.attributes.map((a) => ({ code: a.code, purpose: a.purpose.trim() }));
    const id = await insertRequest(trx, { resourceId, submittedBy, submittedAt: now, items });
    const withdrawn = await withdrawReleased(trx, resourceId, items.map((i) => i.code));
    return { id, withdrawn };
  });
}

/** Decides every attribute of a pending request; the released set becomes exactly the approved ones. */
export async function reviewRequest(
  db: Kysely<Database>,
  requestId: string,
  input: ReviewInput,
  reviewer: string,
  now: Date,
): Promise<{ released: string[] }> {
  const head = await findRequest(db, requestId);
  if (!head) throw errors.notFound('data request', requestId);
  return db.transaction().execute(async (trx) => {
    await lockResource(trx, head.resourceId);
    const request = await requestForReview(trx, requestId);
    if (!request) throw errors.notFound('data request', requestId);
    if (request.status !== 'pending') {
      throw errors.conflict(`data request ${requestId} is ${request.status}; only a pending request can be reviewed`);
    }
    const requested = new Set(request.codes);
    const problems: FieldError[] = [];
    const decided = new Set<string>();
    input.decisions.forEach((d, i) => {
      if (!requested.has(d.code)) problems.push({ path: `body/decisions/${i}/code`, message: `"${d.code}" is not in this request` });
      else if (decided.has(d.code)) problems.push({ path: `body/decisions/${i}/code`, message: `"${d.code}" is decided more than once` });
      decided.add(d.code);
    });
    const missing = request.codes.filter((c) => !decided.has(c));
    for (const code of missing) problems.push({ path: 'body/decisions', message: `no decision for "${code}"` });
    if (problems.length > 0) {
      throw errors.validation('every requested attribute needs exactly one decision', problems);
    }
    const decisions = input.decisions.map((d) => ({ ...d, comment: d.comment.trim() }));
    await recordDecisions(trx, requestId, decisions, reviewer, now);
    const released = decisions.filter((d) => d.approved).map((d) => d.code);
    await replaceReleased(trx, request.resourceId, requestId, released, now);
    return { released };
  });
}
