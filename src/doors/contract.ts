import { AccessRefused } from '../access/access.js';
import type { RefusalReason } from '../modules/sso/sso.service.js';

export type { AccessRequest, Grant, Issued } from '../access/access.js';
export type { Door } from '../access/doors.js';
export type { BrowserSession, Participant } from '../session/sessions.js';

/** The refusal reason of an AccessRefused, or undefined for any other error. */
export function refusalOf(err: unknown): RefusalReason | undefined {
  return err instanceof AccessRefused ? err.reason : undefined;
}
