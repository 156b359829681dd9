import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The XSD (written for the broker's answers, test/xsd/) that applies to a document, by its root's namespace. */
const SCHEMAS: Record<string, string> = {
  'http://www.atosworldline.com/wsabonnement/v1.0/': 'wsabonnement.xsd',
  'http://www.atosworldline.com/listEtablissement/v1.0/': 'listEtablissement.xsd',
  'http://gar.education.fr/schemas/init/0/1/': 'ressourcesDiffusables.xsd',
  '': 'no-namespace.xsd',
};

interface Asserts {
  equal: (a: any, b: any, msg: string) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Validates `xml` with xmllint against the matching XSD; the test fails with xmllint's words. */
export async function validateXml(t: Asserts, xml: string): Promise<void> {
  const root = /<([A-Za-z][\w.-]*)(\s[^>]*)?>/.exec(xml.replace(/<\?xml[^>]*\?>/, ''));
  const ns = /xmlns="([^"]*)"/.exec(root?.[2] ?? '')?.[1] ?? '';
  const schema = fileURLToPath(new URL(`./xsd/${SCHEMAS[ns] ?? 'none.xsd'}`, import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'garws-'));
  const file = join(dir, 'doc.xml');
  writeFileSync(file, xml);
  let out = '';
  try {
    execFileSync('xmllint', ['--noout', '--nonet', '--schema', schema, file], { stdio: 'pipe' });
    out = 'validates';
  } catch (err) {
    out = String((err as { stderr?: Buffer }).stderr ?? err).slice(0, 1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.equal(out, 'validates', `<${root?.[1]}> validates against test/xsd/${SCHEMAS[ns]}`);
}
