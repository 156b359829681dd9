import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { xmlAttr, xmlText } from '../saml/xml.js';

export type Lang = 'fr' | 'en';

/*
 * The broker's one stylesheet. Relative units only, so the page reflows at 200 % zoom; colours with
 * a contrast of at least 7:1; no web fonts, no images, no script.
 */
export const STYLESHEET = `
:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;line-height:1.5}
body{margin:0;background:#f4f5f7;color:#161616}
header,main,footer{max-width:42rem;margin:0 auto;padding:1rem 1.25rem}
header{border-bottom:0.25rem solid #000091}
.brand{font-weight:700;color:#000091;margin:0}
main{background:#fff;margin-top:1.5rem;border-radius:0.25rem}
h1{font-size:1.6rem;line-height:1.25;margin:0.5rem 0 1rem}
h2{font-size:1.2rem;margin:1.5rem 0 0.5rem}
a{color:#000091}
a:focus,button:focus,input:focus{outline:0.2rem solid #0a76f6;outline-offset:0.125rem}
.ref{font-size:0.95rem;color:#3a3a3a;border-top:1px solid #ccc;padding-top:0.75rem;margin-top:1.5rem}
code{font-family:ui-monospace,monospace;overflow-wrap:anywhere}
ul.choices{list-style:none;padding:0}
ul.choices li{margin:0.5rem 0}
.button,button{display:inline-block;background:#000091;color:#fff;border:0;border-radius:0.25rem;padding:0.5rem 1rem;font:inherit;text-decoration:none;cursor:pointer}
label{display:block;font-weight:600;margin-bottom:0.25rem}
input[type=search]{font-size:1rem;padding:0.4rem;width:100%;max-width:24rem;box-sizing:border-box;border:1px solid #3a3a3a}
#slo{border:0}
`.replace(/\n/g, '');

export const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLESHEET).digest('base64')}'`;

/** Only our stylesheet applies; forms go back to the broker only; nothing may frame the page. */
export const PAGE_CSP = `default-src 'none'; style-src ${STYLE_HASH}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;

export const esc = xmlText;
export const escAttr = xmlAttr;

/** French first: English only when the browser prefers it to French. */
export function preferredLang(acceptLanguage: string | undefined): Lang {
  if (!acceptLanguage) return 'fr';
  let best: { lang: Lang; q: number } | null = null;
  for (const part of acceptLanguage.split(',').slice(0, 20)) {
    const [tag = '', ...params] = part.trim().toLowerCase().split(';');
    const q = Number(params.find((p) => p.trim().startsWith('q='))?.split('=')[1] ?? 1);
    const lang = tag.startsWith('fr') ? 'fr' : tag.startsWith('en') ? 'en' : null;
    if (lang && Number.isFinite(q) && q > 0 && (!best || q > best.q)) best = { lang, q };
  }
  return best?.lang ?? 'fr';
}

export const langOf = (request: FastifyRequest): Lang => preferredLang(request.headers['accept-language']);

export function page(lang: Lang, title: string, body: string): string {
  const brand = lang === 'fr' ? 'Accès aux ressources numériques' : 'Access to digital resources';
  return (
    `<!doctype html><html lang="${lang}"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${esc(title)} – gar-broker</title><style>${STYLESHEET}</style></head><body>` +
    `<header><p class="brand">gar-broker · ${brand}</p></header>` +
    `<main>${body}</main></body></html>`
  );
}

export function sendPage(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply
    .status(status)
    .header('content-security-policy', PAGE_CSP)
    .header('cache-control', 'no-store')
    .header('content-language', html.slice(0, 40).includes('lang="en"') ? 'en' : 'fr')
    .type('text/html; charset=utf-8')
    .send(html);
}
