import { esc, escAttr, page, type Lang } from './layout.js';

export interface DiscoveryInput {
  lang: Lang;
  returnPath: string;
  query: string;
  projects: Array<{ id: string; name: string }>;
  remembered: { id: string; name: string } | null;
}

const link = (returnPath: string, entId: string) => `/discovery?return=${encodeURIComponent(returnPath)}&entId=${encodeURIComponent(entId)}`;

/** "Choose your ENT": a plain GET form filters the list, so it works without any script. */
export function discoveryHtml(d: DiscoveryInput): string {
  const fr = d.lang === 'fr';
  const title = fr ? 'Choisissez votre ENT' : 'Choose your ENT';
  const items = d.projects.map((p) => `<li><a class="button" href="${escAttr(link(d.returnPath, p.id))}">${esc(p.name)}</a></li>`).join('');
  const body =
    `<h1>${title}</h1>` +
    `<p>${fr ? 'Pour ouvrir cette ressource, connectez-vous avec l’ENT de votre établissement.' : 'To open this resource, log in with your school’s ENT.'}</p>` +
    (d.remembered
      ? `<p><a class="button" href="${escAttr(link(d.returnPath, d.remembered.id))}">${fr ? 'Continuer avec' : 'Continue with'} ${esc(d.remembered.name)}</a></p>`
      : '') +
    `<form method="get" action="/discovery" role="search">` +
    `<input type="hidden" name="return" value="${escAttr(d.returnPath)}">` +
    `<label for="q">${fr ? 'Rechercher votre ENT (nom ou académie)' : 'Search for your ENT (name or region)'}</label>` +
    `<input type="search" id="q" name="q" value="${escAttr(d.query)}" maxlength="100"> ` +
    `<button type="submit">${fr ? 'Rechercher' : 'Search'}</button></form>` +
    `<h2>${fr ? 'ENT' : 'ENTs'} (${d.projects.length})</h2>` +
    (d.projects.length
      ? `<ul class="choices">${items}</ul>`
      : `<p>${fr ? 'Aucun ENT ne correspond à cette recherche.' : 'No ENT matches this search.'}</p>`);
  return page(d.lang, title, body);
}
