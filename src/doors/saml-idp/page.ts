import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { page, sendPage, STYLE_HASH } from '../../pages/layout.js';
import { xmlAttr, xmlText } from '../../saml/xml.js';

/*
 * The SAML doors' own pages, on the broker's one layout: a protocol error the person can read
 * (French first) and the single-logout steps.
 */

export function renderErrorPage(reply: FastifyReply, p: { status: number; title: string; detail: string }): FastifyReply {
  const body =
    `<h1>${xmlText(p.title)}</h1>` +
    `<p>La ressource n’a pas pu être ouverte : sa demande de connexion n’est pas valable. Revenez à votre ENT et ouvrez la ressource depuis le médiacentre ; si le problème persiste, signalez-le à l’éditeur de la ressource.</p>` +
    `<p class="ref" lang="en">${xmlText(p.detail)}</p>`;
  return sendPage(reply, p.status, page('fr', p.title, body));
}

const STEP_SCRIPT =
  "var f=document.getElementById('slo'),n=document.getElementById('next').href,d=false;" +
  'function go(){if(!d){d=true;location.replace(n);}}' +
  "f.addEventListener('load',go);setTimeout(go,+f.dataset.timeout);";
const STEP_HASH = `'sha256-${createHash('sha256').update(STEP_SCRIPT).digest('base64')}'`;

/**
 * One step of front-channel single logout: the SP's SingleLogoutService is loaded in a frame with
 * our LogoutRequest, and the page moves on when the frame has loaded or after the timeout, so an
 * SP that never answers cannot stop the others from being told.
 */
export function renderLogoutStep(reply: FastifyReply, p: { frameUrl: string; nextUrl: string; timeoutMs: number }): FastifyReply {
  const html = page(
    'fr',
    'Déconnexion…',
    '<h1>Déconnexion…</h1><p>Déconnexion des ressources en cours…</p>' +
      `<iframe id="slo" title="déconnexion" src="${xmlAttr(p.frameUrl)}" data-timeout="${p.timeoutMs}" width="1" height="1"></iframe>` +
      `<p><a id="next" href="${xmlAttr(p.nextUrl)}">Continuer</a></p>` +
      `<script>${STEP_SCRIPT}</script>`,
  );
  const origin = new URL(p.frameUrl).origin;
  // 'self' too: the SP answers with its LogoutResponse by redirecting the frame back here, and
  // frame-src governs every hop of the frame's navigation (found by test/journey.test.ts).
  return reply
    .type('text/html; charset=utf-8')
    .headers({
      'content-security-policy': `default-src 'none'; style-src ${STYLE_HASH}; script-src ${STEP_HASH}; frame-src ${origin} 'self'; base-uri 'none'; frame-ancestors 'none'`,
      'cache-control': 'no-store',
    })
    .send(html);
}

/** The answer an SP's LogoutResponse gets inside the logout frame: nothing to see. */
export function renderFrameDone(reply: FastifyReply): FastifyReply {
  return reply
    .type('text/html; charset=utf-8')
    .headers({ 'content-security-policy': "default-src 'none'; frame-ancestors 'self'", 'x-frame-options': 'SAMEORIGIN' })
    .send('<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>OK</title></head><body></body></html>');
}

export function renderLoggedOut(reply: FastifyReply): FastifyReply {
  return sendPage(reply, 200, page('fr', 'Déconnecté', '<h1>Déconnecté</h1><p>Vous êtes déconnecté des ressources.</p>'));
}
