/**
 * The broker's entry link for one resource at one establishment of one ENT project, in the shape
 * of GAR's `urlAccesRessource`: `/domaineGar?idENT=<Base64 project code>&idEtab=<Base64 UAI>&idRessource=<ARK>`.
 * Every value is percent-encoded as well, so that a Base64 `+`, `/` or `=` survives any query parser.
 */
export function entryLink(brokerBaseUrl: string, entId: string, uai: string, resourceId: string): string {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  const q = (s: string) => encodeURIComponent(s);
  return `${brokerBaseUrl.replace(/\/+$/, '')}/domaineGar?idENT=${q(b64(entId))}&idEtab=${q(b64(uai))}&idRessource=${q(resourceId)}`;
}
