import type { FastifyReply } from 'fastify';
import { REFUSAL_REASONS, type RefusalReason } from '../modules/sso/sso.service.js';
import { esc, langOf, page, sendPage, type Lang } from './layout.js';

/** What a browser door can end with besides a grant: every refusal of the decision and the doors' own failures. */
export const PAGE_REASONS = [
  ...REFUSAL_REASONS,
  'unknown_ent_project',
  'ent_not_connected',
  'broken_entry_link',
  'expired_request',
  'idp_error',
  'bad_assertion',
  'expired_assertion',
  'unavailable',
] as const;
export type PageReason = (typeof PAGE_REASONS)[number];

export const isPageReason = (r: string): r is PageReason => (PAGE_REASONS as readonly string[]).includes(r);

const STATUS: Partial<Record<PageReason, number>> = {
  unknown_ent_project: 404,
  ent_not_connected: 404,
  broken_entry_link: 400,
  expired_request: 400,
  bad_assertion: 400,
  expired_assertion: 400,
  unavailable: 503,
};
/** Refusals of the decision are 403; the doors' own failures as above. */
export const statusOf = (reason: PageReason): number => STATUS[reason] ?? 403;

type Text = { title: string; what: string; todo: 'ra' | 'ent' | 'retry' | 'operator' };
const T: Record<Lang, Record<PageReason, Text>> = {
  fr: {
    establishment_out_of_scope: { title: 'Établissement non rattaché', what: 'Cet établissement n’est pas rattaché à votre ENT pour l’accès aux ressources.', todo: 'ent' },
    unknown_person: { title: 'Compte inconnu dans cet établissement', what: 'Votre compte n’est pas (encore) connu dans cet établissement. Les comptes sont transmis chaque nuit par l’ENT.', todo: 'ra' },
    person_gone: { title: 'Vous n’êtes plus inscrit dans cet établissement', what: 'Votre compte n’est plus rattaché à cet établissement.', todo: 'ra' },
    restricted: { title: 'Accès suspendu', what: 'Le traitement de vos données est limité à votre demande : aucune ressource ne peut vous être ouverte pour le moment.', todo: 'ra' },
    objected: { title: 'Accès impossible', what: 'Vous vous êtes opposé au traitement de vos données : aucune ressource ne peut vous être ouverte.', todo: 'ra' },
    unknown_resource: { title: 'Ressource inconnue', what: 'Cette ressource n’existe pas ou n’est plus proposée.', todo: 'ent' },
    no_subscription: { title: 'Pas d’abonnement', what: 'Votre établissement n’est pas abonné à cette ressource.', todo: 'ra' },
    subscription_expired: { title: 'Abonnement terminé', what: 'L’abonnement de votre établissement à cette ressource est terminé.', todo: 'ra' },
    subscription_not_started: { title: 'Abonnement pas encore commencé', what: 'L’abonnement de votre établissement à cette ressource n’a pas encore commencé.', todo: 'ra' },
    not_assigned: { title: 'Ressource non attribuée', what: 'Votre établissement est abonné, mais cette ressource ne vous a pas été attribuée.', todo: 'ra' },
    no_approved_data_request: { title: 'Ressource pas encore autorisée', what: 'Le ministère n’a pas encore validé les données que cette ressource demande.', todo: 'ra' },
    unknown_ent_project: { title: 'ENT inconnu', what: 'Le lien utilisé désigne un ENT que ce service ne connaît pas.', todo: 'ent' },
    ent_not_connected: { title: 'ENT non raccordé', what: 'Votre ENT n’est pas encore raccordé à ce service pour la connexion.', todo: 'operator' },
    broken_entry_link: { title: 'Lien incomplet ou abîmé', what: 'Le lien d’accès à la ressource est incomplet ou mal formé.', todo: 'ent' },
    expired_request: { title: 'Lien expiré', what: 'La connexion a pris trop de temps ou cette page a déjà été utilisée.', todo: 'retry' },
    idp_error: { title: 'Connexion refusée par l’ENT', what: 'Votre ENT n’a pas pu confirmer votre identité.', todo: 'retry' },
    bad_assertion: { title: 'Connexion non valide', what: 'La réponse de connexion de votre ENT n’a pas pu être vérifiée.', todo: 'retry' },
    expired_assertion: { title: 'Connexion expirée', what: 'La réponse de connexion de votre ENT est arrivée trop tard.', todo: 'retry' },
    unavailable: { title: 'Service momentanément indisponible', what: 'Le service ne peut pas répondre pour l’instant.', todo: 'retry' },
  },
  en: {
    establishment_out_of_scope: { title: 'School not attached', what: 'This school is not attached to your ENT for access to resources.', todo: 'ent' },
    unknown_person: { title: 'Account unknown at this school', what: 'Your account is not (yet) known at this school. The ENT sends accounts every night.', todo: 'ra' },
    person_gone: { title: 'No longer enrolled at this school', what: 'Your account is no longer attached to this school.', todo: 'ra' },
    restricted: { title: 'Access suspended', what: 'The processing of your data is restricted at your request: no resource can be opened for you for now.', todo: 'ra' },
    objected: { title: 'Access impossible', what: 'You objected to the processing of your data: no resource can be opened for you.', todo: 'ra' },
    unknown_resource: { title: 'Unknown resource', what: 'This resource does not exist or is no longer offered.', todo: 'ent' },
    no_subscription: { title: 'No subscription', what: 'Your school has no subscription to this resource.', todo: 'ra' },
    subscription_expired: { title: 'Subscription ended', what: 'Your school’s subscription to this resource has ended.', todo: 'ra' },
    subscription_not_started: { title: 'Subscription not started yet', what: 'Your school’s subscription to this resource has not started yet.', todo: 'ra' },
    not_assigned: { title: 'Resource not assigned to you', what: 'Your school subscribes to this resource, but it has not been assigned to you.', todo: 'ra' },
    no_approved_data_request: { title: 'Resource not approved yet', what: 'The ministry has not yet approved the data this resource asks for.', todo: 'ra' },
    unknown_ent_project: { title: 'Unknown ENT', what: 'The link names an ENT this service does not know.', todo: 'ent' },
    ent_not_connected: { title: 'ENT not connected', what: 'Your ENT is not connected to this service for login yet.', todo: 'operator' },
    broken_entry_link: { title: 'Incomplete or damaged link', what: 'The link to the resource is incomplete or malformed.', todo: 'ent' },
    expired_request: { title: 'Link expired', what: 'The login took too long, or this page was already used.', todo: 'retry' },
    idp_error: { title: 'Login refused by the ENT', what: 'Your ENT could not confirm who you are.', todo: 'retry' },
    bad_assertion: { title: 'Invalid login', what: 'The login answer from your ENT could not be verified.', todo: 'retry' },
    expired_assertion: { title: 'Login expired', what: 'The login answer from your ENT arrived too late.', todo: 'retry' },
    unavailable: { title: 'Service temporarily unavailable', what: 'The service cannot answer right now.', todo: 'retry' },
  },
};

const TODO: Record<Lang, Record<Text['todo'], string[]>> = {
  fr: {
    ra: ['Demandez au responsable d’affectation de votre établissement (souvent le professeur documentaliste) de vérifier votre accès.', 'Revenez ensuite à votre ENT et ouvrez la ressource à nouveau.'],
    ent: ['Revenez à votre ENT et ouvrez la ressource depuis le médiacentre.', 'Si le problème continue, signalez-le au responsable d’affectation de votre établissement.'],
    retry: ['Revenez à votre ENT, vérifiez que vous êtes connecté, et ouvrez la ressource à nouveau.', 'Si le problème continue, signalez-le au responsable d’affectation de votre établissement.'],
    operator: ['Signalez-le au responsable d’affectation de votre établissement : il préviendra l’équipe de l’ENT.'],
  },
  en: {
    ra: ['Ask your school’s assignment manager (responsable d’affectation, often the librarian) to check your access.', 'Then go back to your ENT and open the resource again.'],
    ent: ['Go back to your ENT and open the resource from its media centre.', 'If the problem remains, tell your school’s assignment manager.'],
    retry: ['Go back to your ENT, check that you are logged in, and open the resource again.', 'If the problem remains, tell your school’s assignment manager.'],
    operator: ['Tell your school’s assignment manager: they will inform the ENT team.'],
  },
};

export interface RefusalPageInput {
  reason: PageReason;
  /** Default: from the request's Accept-Language, French first. */
  lang?: Lang;
  resourceName?: string | null;
  establishmentName?: string | null;
  /** Default: statusOf(reason). Always 4xx, except 503 when the service itself cannot answer. */
  status?: number;
}

export function refusalHtml(input: RefusalPageInput & { lang: Lang; requestId: string }): string {
  const t = T[input.lang][input.reason];
  const fr = input.lang === 'fr';
  const facts: string[] = [];
  if (input.resourceName) facts.push(`<li>${fr ? 'Ressource' : 'Resource'} : <strong>${esc(input.resourceName)}</strong></li>`);
  if (input.establishmentName) facts.push(`<li>${fr ? 'Établissement' : 'School'} : <strong>${esc(input.establishmentName)}</strong></li>`);
  const body =
    `<h1>${esc(t.title)}</h1>` +
    `<p>${esc(t.what)}</p>` +
    (facts.length ? `<ul>${facts.join('')}</ul>` : '') +
    `<h2>${fr ? 'Que faire ?' : 'What to do'}</h2><ul>${TODO[input.lang][t.todo].map((s) => `<li>${esc(s)}</li>`).join('')}</ul>` +
    `<p class="ref">${fr ? 'Référence à donner à l’assistance' : 'Reference for support'} : <code>${esc(input.requestId)}</code>` +
    ` <span lang="en">(${esc(input.reason)})</span></p>`;
  return page(input.lang, t.title, body);
}

/**
 * The page every browser door answers a refusal or an error with: the reason in plain words, the
 * resource and establishment by name when known, what to do, and the request id. Never a stack trace.
 */
export function renderRefusalPage(reply: FastifyReply, input: RefusalPageInput): FastifyReply {
  const lang = input.lang ?? langOf(reply.request);
  const html = refusalHtml({ ...input, lang, requestId: String(reply.request.id) });
  if (input.reason === 'unavailable') reply.header('retry-after', '5');
  return sendPage(reply, input.status ?? statusOf(input.reason), html);
}
