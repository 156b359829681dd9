import { randomBytes } from 'node:crypto';
import { xmlText } from '../../saml/xml.js';
import type { CasRelease } from './cas.tickets.js';

export const CAS_FAILURES = ['INVALID_REQUEST', 'INVALID_TICKET_SPEC', 'INVALID_TICKET', 'INVALID_SERVICE', 'INTERNAL_ERROR'] as const;
export type CasFailure = (typeof CAS_FAILURES)[number];

export type CasAnswer = { ok: true; release: CasRelease } | { ok: false; code: CasFailure; description: string };

/** Dictionary codes are XML names already (IDO, P_MEL, idENT…); anything else is never an element name. */
const ELEMENT_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** The CAS 3.0 serviceResponse document (also served at the CAS 2.0 path, as GAR does). */
export function casXml(a: CasAnswer): string {
  const head = '<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">';
  if (!a.ok) {
    return `${head}<cas:authenticationFailure code="${a.code}">${xmlText(a.description)}</cas:authenticationFailure></cas:serviceResponse>`;
  }
  const r = a.release;
  const attrs = [
    `<cas:authenticationDate>${r.authenticationDate}</cas:authenticationDate>`,
    `<cas:longTermAuthenticationRequestTokenUsed>false</cas:longTermAuthenticationRequestTokenUsed>`,
    `<cas:isFromNewLogin>${r.isFromNewLogin}</cas:isFromNewLogin>`,
    // One element per value, as phpCAS and python-cas read multi-valued attributes.
    ...r.attributes.filter((x) => ELEMENT_NAME.test(x.name)).flatMap((x) => x.values.map((v) => `<cas:${x.name}>${xmlText(v)}</cas:${x.name}>`)),
  ];
  return `${head}<cas:authenticationSuccess><cas:user>${xmlText(r.user)}</cas:user><cas:attributes>${attrs.join('')}</cas:attributes></cas:authenticationSuccess></cas:serviceResponse>`;
}

/** The same answer with `format=json` (CAS 3.0 appendix: every attribute an array). */
export function casJson(a: CasAnswer): unknown {
  if (!a.ok) return { serviceResponse: { authenticationFailure: { code: a.code, description: a.description } } };
  const r = a.release;
  const attributes: Record<string, unknown[]> = {
    authenticationDate: [r.authenticationDate],
    longTermAuthenticationRequestTokenUsed: [false],
    isFromNewLogin: [r.isFromNewLogin],
  };
  for (const x of r.attributes) attributes[x.name] = x.values;
  return { serviceResponse: { authenticationSuccess: { user: r.user, attributes } } };
}

/** The back-channel logout message CAS servers POST as `logoutRequest` (ticket as SessionIndex). */
export function logoutRequestXml(nameId: string, ticket: string, now: Date): string {
  return (
    '<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"' +
    ` ID="LR-${randomBytes(16).toString('hex')}" Version="2.0" IssueInstant="${now.toISOString()}">` +
    `<saml:NameID>${xmlText(nameId)}</saml:NameID><samlp:SessionIndex>${xmlText(ticket)}</samlp:SessionIndex></samlp:LogoutRequest>`
  );
}
