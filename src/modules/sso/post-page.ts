import { createHash } from 'node:crypto';
import { xmlAttr } from '../../saml/xml.js';

const SUBMIT_SCRIPT = 'document.forms[0].submit();';
const SCRIPT_HASH = `'sha256-${createHash('sha256').update(SUBMIT_SCRIPT).digest('base64')}'`;

/** The HTTP-POST binding page: posts the Response at once, with a button when scripts are off. */
export function autoPostPage(destination: string, samlResponse: string, relayState?: string): { html: string; headers: Record<string, string> } {
  const html =
    '<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Connexion à la ressource…</title></head><body>' +
    `<form method="post" action="${xmlAttr(destination)}">` +
    `<input type="hidden" name="SAMLResponse" value="${xmlAttr(samlResponse)}">` +
    (relayState ? `<input type="hidden" name="RelayState" value="${xmlAttr(relayState)}">` : '') +
    '<noscript><p>JavaScript est désactivé : cliquez pour accéder à la ressource.</p><button type="submit">Continuer</button></noscript>' +
    `</form><script>${SUBMIT_SCRIPT}</script></body></html>`;
  const origin = new URL(destination).origin;
  return {
    html,
    headers: {
      // Only our one inline script runs, and the form can post only to the publisher's origin.
      'content-security-policy': `default-src 'none'; script-src ${SCRIPT_HASH}; form-action ${origin}; base-uri 'none'; frame-ancestors 'none'`,
      'cache-control': 'no-store',
      pragma: 'no-cache',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
    },
  };
}
