import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';

/*
 * What the test ENT and the test publishers share: a Fastify app that reads forms, plain pages, and
 * an in-memory session per site. They talk to the broker over HTTP only, like outside parties.
 */

export const esc = (s: unknown) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}' +
  'header{border-bottom:3px solid var(--c);margin-bottom:1rem}header p{margin:.2rem 0 .6rem;color:#555}' +
  'h1{font-size:1.5rem}table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.3rem .6rem;text-align:left;vertical-align:top}td{word-break:break-all}' +
  'a.button,button{display:inline-block;background:var(--c);color:#fff;border:0;padding:.5rem .9rem;border-radius:4px;text-decoration:none;font-size:1rem;cursor:pointer;margin:.2rem 0}' +
  'li{margin:.4rem 0}.note{color:#555;font-size:.9rem}code{background:#eee;padding:0 .2rem}';

/** A page of one of the kit's sites, in its colour, with the site's name on top. */
export function page(site: { name: string; colour: string; tagline: string }, title: string, body: string): string {
  return (
    `<!doctype html><html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
    `<title>${esc(title)} · ${esc(site.name)}</title><style>:root{--c:${site.colour}}${STYLE}</style></head>` +
    `<body><header><strong>${esc(site.name)}</strong><p>${esc(site.tagline)}</p></header><main><h1>${esc(title)}</h1>${body}</main></body></html>`
  );
}

export const sendHtml = (reply: FastifyReply, status: number, html: string) =>
  reply.status(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);

/** A page that posts a form by itself (the SAML HTTP-POST binding), with a button when scripts are off. */
export function autoPost(action: string, fields: Record<string, string>): string {
  const inputs = Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
    .join('');
  return (
    `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Connexion…</title></head>` +
    `<body><form id="f" method="post" action="${esc(action)}">${inputs}<noscript><button>Continuer</button></noscript></form>` +
    `<script>document.getElementById('f').submit()</script></body></html>`
  );
}

/** An attributes table: what a publisher learnt about the person (one row per attribute, values joined). */
export function attributesTable(attrs: Record<string, unknown>): string {
  const rows = Object.entries(attrs)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td data-attr="${esc(k)}">${esc([v].flat().join(', '))}</td></tr>`)
    .join('');
  return `<table id="attributes"><thead><tr><th>Attribut</th><th>Valeur</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** Sessions kept in memory under a site's own cookie name (all sites may share one host name). */
export class Sessions<T> {
  private readonly byId = new Map<string, T>();
  constructor(readonly cookie: string) {}

  get(request: FastifyRequest): T | undefined {
    const id = readCookie(request, this.cookie);
    return id ? this.byId.get(id) : undefined;
  }

  open(reply: FastifyReply, value: T): string {
    const id = randomBytes(18).toString('base64url');
    this.byId.set(id, value);
    reply.header('set-cookie', `${this.cookie}=${id}; Path=/; HttpOnly; SameSite=Lax`);
    return id;
  }

  close(request: FastifyRequest, reply: FastifyReply): void {
    const id = readCookie(request, this.cookie);
    if (id) this.byId.delete(id);
    reply.header('set-cookie', `${this.cookie}=; Path=/; Max-Age=0`);
  }

  /** Ends the sessions that match (a logout from the broker names a NameID or a ticket, not a cookie). */
  endWhere(match: (value: T) => boolean): number {
    let n = 0;
    for (const [id, v] of this.byId) if (match(v)) (this.byId.delete(id), n++);
    return n;
  }
}

export function readCookie(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/** A Fastify app that also reads url-encoded forms (SAML POST binding, CAS back-channel logout). */
export function siteApp(): FastifyInstance {
  const app = Fastify({ logger: false });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 512 * 1024 }, (_req, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );
  return app;
}

/** A free TCP port on the loopback (the sites must know their own URL before they listen). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, host, r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** The raw query of a request, for checking HTTP-Redirect signatures over the bytes as sent. */
export function rawQuery(request: FastifyRequest): string {
  const at = request.url.indexOf('?');
  return at < 0 ? '' : request.url.slice(at + 1);
}

/** What samlify needs to check an HTTP-Redirect signature: the query and the signed octets in their received order. */
export function redirectParts(request: FastifyRequest) {
  const raw = rawQuery(request);
  const keep = ['SAMLRequest', 'SAMLResponse', 'RelayState', 'SigAlg'];
  const octetString = raw
    .split('&')
    .filter((p) => keep.includes(p.split('=')[0]!))
    .join('&');
  return { query: Object.fromEntries(new URLSearchParams(raw)), octetString };
}
