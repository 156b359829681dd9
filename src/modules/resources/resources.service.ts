import { X509Certificate } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import { assertScope, type Caller } from '../../plugins/auth.js';
import { errors, type FieldError } from '../../errors.js';
import { describePublicKey, parseSpMetadata, SpMetadataError, type SpProfile } from '../../saml/sp-metadata.js';
import { ATTRIBUTES } from '../attributes/attribute-dictionary.js';
import { findResource } from './resources.repository.js';
import type { ResourceView, SpInput } from './resources.schemas.js';

/** A service provider as stored: checked, certificates in PEM, requested attributes as dictionary codes. */
export interface ResolvedSp {
  entityId: string;
  acsUrl: string;
  signingCert: string | null;
  encryptionCert: string | null;
  metadataXml: string | null;
  requestedCodes: string[];
  warnings: string[];
  /** Declared by metadata; null when the SP was given as fields (one HTTP-POST ACS, nothing else). */
  profile: SpProfile | null;
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** https only; plain http is tolerated for a service provider on this machine (development, tests). */
export function acsProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'is not a valid URL';
  }
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:' && LOCAL_HOSTS.has(u.hostname)) return undefined;
  return 'must be an https URL (http only for localhost or 127.0.0.1)';
}

const PEM_BODY = /^[A-Za-z0-9+/=]+$/;

type CertCheck = { pem: string; validTo: Date } | { problem: string };

/** What an encryption certificate must hold, said in every refusal. */
export const ENCRYPTION_KEYS_ACCEPTED = 'an RSA key of 2048 bits or more (the Assertion key is sent with RSA-OAEP)';
const MIN_RSA_BITS = 2048;

/**
 * Why a certificate cannot carry the Assertion's key, or undefined when it can. Refused at
 * registration: an EC or short RSA key would make every SSO to the resource fail (or be weak).
 */
export function encryptionKeyProblem(cert: X509Certificate): string | undefined {
  const key = cert.publicKey;
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType === 'rsa' && bits >= MIN_RSA_BITS) return undefined;
  return `cannot be used for encryption: its key is ${describePublicKey(cert)}; accepted: ${ENCRYPTION_KEYS_ACCEPTED}`;
}

/**
 * Accepts PEM or the bare base64 body found in metadata; refuses what does not parse or has expired,
 * and for encryption a key the broker cannot encrypt to.
 */
export function checkCertificate(text: string, now: Date, use: 'signing' | 'encryption' = 'signing'): CertCheck {
  const body = text
    .replace(/-----BEGIN CERTIFICATE-----/, '')
    .replace(/-----END CERTIFICATE-----/, '')
    .replace(/\s+/g, '');
  if (body === '' || !PEM_BODY.test(body)) return { problem: 'is not a PEM or base64 X.509 certificate' };
  const pem = `-----BEGIN CERTIFICATE-----\n${body.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    return { problem: 'does not parse as an X.509 certificate' };
  }
  const validTo = new Date(cert.validTo);
  if (!(validTo.getTime() > now.getTime())) return { problem: `expired on ${validTo.toISOString()}` };
  const keyProblem = use === 'encryption' ? encryptionKeyProblem(cert) : undefined;
  if (keyProblem) return { problem: keyProblem };
  return { pem, validTo };
}

/** Of several certificates for one use (a rollover), keep the one valid longest. */
function pickCertificate(
  list: string[],
  field: string,
  now: Date,
  problems: FieldError[],
  use: 'signing' | 'encryption' = 'signing',
): string | null {
  if (list.length === 0) return null;
  const checks = list.map((c) => checkCertificate(c, now, use));
  const valid = checks.filter((c): c is { pem: string; validTo: Date } => 'pem' in c);
  if (valid.length === 0) {
    problems.push({ path: field, message: (checks[0] as { problem: string }).problem });
    return null;
  }
  valid.sort((a, b) => b.validTo.getTime() - a.validTo.getTime());
  return valid[0]!.pem;
}

const CODE_EXACT = new Map(ATTRIBUTES.map((a) => [a.code, a.code]));
const CODE_FOLDED = new Map(ATTRIBUTES.map((a) => [a.code.toLowerCase(), a.code]));

/**
 * The dictionary code a RequestedAttribute stands for: its Name, its FriendlyName, or the last
 * segment of a URI-style Name (`urn:gar:attr:DIV`), exact case first.
 */
export function codeForRequestedAttribute(name: string, friendlyName?: string): string | undefined {
  const candidates = [name, friendlyName, name.split(/[:/#]/).pop()].filter((c): c is string => !!c);
  for (const c of candidates) if (CODE_EXACT.has(c)) return CODE_EXACT.get(c);
  for (const c of candidates) if (CODE_FOLDED.has(c.toLowerCase())) return CODE_FOLDED.get(c.toLowerCase());
  return undefined;
}

/** Checks the SP part of a resource, listing every problem at once. */
export function resolveServiceProvider(sp: SpInput, now: Date): ResolvedSp {
  const problems: FieldError[] = [];
  const warnings: string[] = [];
  let entityId: string;
  let acsUrl: string | undefined;
  let signingCert: string | null;
  let encryptionCert: string | null;
  let metadataXml: string | null = null;
  let requestedCodes: string[] = [];
  let profile: SpProfile | null = null;

  if ('metadataXml' in sp) {
    let parsed;
    try {
      parsed = parseSpMetadata(sp.metadataXml);
    } catch (err) {
      if (err instanceof SpMetadataError) {
        throw errors.validation(err.message, [{ path: 'body/sp/metadataXml', message: err.message }]);
      }
      throw err;
    }
    metadataXml = sp.metadataXml;
    entityId = parsed.entityId;
    acsUrl = parsed.acsUrl;
    if (!acsUrl) problems.push({ path: 'body/sp/metadataXml', message: 'has no HTTP-POST AssertionConsumerService' });
    signingCert = pickCertificate(parsed.signingCertificates, 'body/sp/metadataXml (signing KeyDescriptor)', now, problems);
    // A key offered without `use` is first a signing key: when it cannot encrypt (EC, short RSA),
    // the Assertion goes unencrypted rather than the registration failing.
    const encryptionCandidates = parsed.encryptionCertificates.filter((c) => {
      if (!parsed.unspecifiedUseCertificates.includes(c)) return true;
      const check = checkCertificate(c, now, 'encryption');
      if ('pem' in check) return true;
      warnings.push(`a KeyDescriptor without use ${check.problem}: it is used to check signatures only`);
      return false;
    });
    encryptionCert = pickCertificate(encryptionCandidates, 'body/sp/metadataXml (encryption KeyDescriptor)', now, problems, 'encryption');
    const codes = new Set<string>();
    for (const r of parsed.requestedAttributes) {
      const code = codeForRequestedAttribute(r.name, r.friendlyName);
      if (code) codes.add(code);
      else warnings.push(`RequestedAttribute "${r.name}" is not in the attribute dictionary and will never be released`);
    }
    requestedCodes = ATTRIBUTES.map((a) => a.code).filter((c) => codes.has(c));
    // An ACS or SLO endpoint the broker would refuse as the main ACS is dropped, never used.
    const usable = <T extends { location: string }>(list: T[], what: string) =>
      list.filter((e) => {
        const why = acsProblem(e.location);
        if (why) warnings.push(`${what} "${e.location}" ${why}: ignored`);
        return !why;
      });
    profile = { ...parsed.profile, acs: usable(parsed.profile.acs, 'AssertionConsumerService'), singleLogout: usable(parsed.profile.singleLogout, 'SingleLogoutService') };
  } else {
    entityId = sp.entityId.trim();
    acsUrl = sp.acsUrl;
    signingCert = pickCertificate(sp.signingCertificate ? [sp.signingCertificate] : [], 'body/sp/signingCertificate', now, problems);
    encryptionCert = pickCertificate(
      sp.encryptionCertificate ? [sp.encryptionCertificate] : [],
      'body/sp/encryptionCertificate',
      now,
      problems,
      'encryption',
    );
  }
  if (entityId === '') problems.push({ path: 'body/sp/entityId', message: 'is empty' });
  if (entityId.length > 1024) problems.push({ path: 'body/sp/entityId', message: 'is longer than 1024 characters' });
  if (acsUrl) {
    const why = acsProblem(acsUrl);
    if (why) problems.push({ path: metadataXml ? 'body/sp/metadataXml (AssertionConsumerService)' : 'body/sp/acsUrl', message: why });
  }
  if (problems.length > 0) {
    throw errors.validation(problems.map((p) => `${p.path} ${p.message}`).join('; '), problems);
  }
  return { entityId, acsUrl: acsUrl!, signingCert, encryptionCert, metadataXml, requestedCodes, warnings, profile };
}

/** The entry door's fields: an https landing page, and `redirect` only with somewhere to redirect to. */
export function checkEntryFields(fields: { resourceUrl?: string; ssoMode?: 'redirect' | 'unsolicited' }): void {
  const problems: FieldError[] = [];
  const why = fields.resourceUrl !== undefined ? acsProblem(fields.resourceUrl) : undefined;
  if (why) problems.push({ path: 'body/resourceUrl', message: why });
  if (fields.ssoMode === 'redirect' && fields.resourceUrl === undefined) {
    problems.push({ path: 'body/ssoMode', message: '"redirect" needs a resourceUrl to redirect to' });
  }
  if (problems.length > 0) throw errors.validation(problems.map((p) => `${p.path} ${p.message}`).join('; '), problems);
}

/**
 * The resource, if the caller may see it. Another publisher's resource is a 404: its existence
 * must not leak.
 */
export async function visibleResource(db: Kysely<Database>, caller: Caller, resourceId: string): Promise<ResourceView> {
  const resource = await findResource(db, resourceId);
  if (!resource) throw errors.notFound('resource', resourceId);
  assertScope(caller, { publisherId: resource.publisherId }, { what: 'resource', id: resourceId });
  return resource;
}
