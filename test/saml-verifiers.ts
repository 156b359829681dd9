import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import samlify from 'samlify';

const run = promisify(execFile);

// Schema validity is checked separately against the OASIS schemas with xmllint, so samlify's own
// (slow, listener-leaking) validator is not used here.
samlify.setSchemaValidator({ validate: () => Promise.resolve('checked separately with xmllint') });

export const SCHEMA_DIR = '/usr/lib/python3/dist-packages/onelogin/saml2/schemas';

export interface VerifyJob {
  samlResponse: string;
  idpMetadata: string;
  idpCert: string;
  idpEntityId: string;
  spEntityId: string;
  acsUrl: string;
  spKey: string;
  spCert: string;
  encrypted: boolean;
}

export type Verdict = { valid: boolean; error?: string | null; nameId?: string; attributes?: Record<string, string[]> };

/** samlify acting as the publisher's SP. */
export async function samlifyVerify(job: VerifyJob): Promise<Verdict> {
  const sp = samlify.ServiceProvider({
    entityID: job.spEntityId,
    assertionConsumerService: [{ Binding: samlify.Constants.namespace.binding.post, Location: job.acsUrl }],
    privateKey: job.spKey,
    encPrivateKey: job.spKey,
    signingCert: job.spCert,
    encryptCert: job.spCert,
    isAssertionEncrypted: job.encrypted,
    wantAssertionsSigned: true,
    wantMessageSigned: true,
  });
  // samlify reads "is the assertion encrypted" from the issuing entity's settings.
  const idp = samlify.IdentityProvider({ metadata: job.idpMetadata, isAssertionEncrypted: job.encrypted });
  try {
    const { extract } = await sp.parseLoginResponse(idp, 'post', { body: { SAMLResponse: job.samlResponse } });
    const attributes: Record<string, string[]> = {};
    for (const [k, v] of Object.entries((extract.attributes ?? {}) as Record<string, string | string[]>)) attributes[k] = [v].flat();
    return { valid: true, nameId: extract.nameID, attributes };
  } catch (err) {
    return { valid: false, error: String((err as Error).message ?? err) };
  }
}

/** python3-saml (OneLogin) and Lasso, through Debian's python. */
export async function pythonVerify(job: VerifyJob): Promise<{ onelogin: Verdict; lasso: Verdict }> {
  const out = execFileSync('/usr/bin/python3', [new URL('./verifiers/saml_verify.py', import.meta.url).pathname], {
    input: JSON.stringify(job),
  });
  return JSON.parse(out.toString());
}

/** xmlsec1 checks both signatures (Response, and Assertion when not encrypted) against the IdP certificate. */
export async function xmlsecVerify(xml: string, idpCertPem: string, encrypted: boolean): Promise<Verdict> {
  const dir = mkdtempSync(join(tmpdir(), 'garb-xmlsec-'));
  try {
    writeFileSync(join(dir, 'r.xml'), xml);
    writeFileSync(join(dir, 'idp.pem'), idpCertPem);
    const targets = ["/*[local-name()='Response']/*[local-name()='Signature']"];
    if (!encrypted) targets.push("//*[local-name()='Assertion']/*[local-name()='Signature']");
    for (const xpath of targets) {
      try {
        await run('xmlsec1', ['--verify', '--trusted-pem', join(dir, 'idp.pem'), '--id-attr:ID', 'Response', '--id-attr:ID', 'Assertion', '--node-xpath', xpath, join(dir, 'r.xml')]);
      } catch (err) {
        return { valid: false, error: `xmlsec1: ${String((err as { stderr?: string }).stderr ?? err).split('\n').slice(-3).join(' ')}` };
      }
    }
    return { valid: true };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Validity against the OASIS SAML 2.0 protocol schema, with xmllint. */
export async function schemaValidate(xml: string): Promise<Verdict> {
  const dir = mkdtempSync(join(tmpdir(), 'garb-xsd-'));
  try {
    writeFileSync(join(dir, 'r.xml'), xml);
    await run('xmllint', ['--noout', '--nonet', '--schema', join(SCHEMA_DIR, 'saml-schema-protocol-2.0.xsd'), join(dir, 'r.xml')]);
    return { valid: true };
  } catch (err) {
    return { valid: false, error: String((err as { stderr?: string }).stderr ?? err) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
