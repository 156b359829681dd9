import { Type, type TSchema } from '@sinclair/typebox';
import { GarResourceItemSchema } from './catalogue.js';

/** GAR's error body, in JSON; the XML form is `<Erreur><Code/><Message/><Resource/></Erreur>`. */
export const ErreurSchema = Type.Object({
  Erreur: Type.Object({
    Code: Type.String({ description: 'the HTTP reason phrase, e.g. Bad Request' }),
    Message: Type.String({ description: 'every problem found, separated by "; "' }),
    Resource: Type.String({ description: 'the path called, relative to the service root' }),
  }),
});

const XML = (description: string) => ({ schema: Type.String({ description }) });

/** An error answer of the GAR routes, in both forms. */
export function garErrors(...statuses: number[]) {
  const out: Record<number, unknown> = {};
  for (const s of [...statuses, 500]) {
    out[s] = {
      description: s === 409 ? 'The subscription exists already ("existe deja")' : 'GAR error: every problem in Message',
      content: { 'application/json': { schema: ErreurSchema }, 'application/xml': XML('<Erreur><Code/><Message/><Resource/></Erreur>') },
    };
  }
  return out;
}

export const AbonnementJson = Type.Object(
  {
    idAbonnement: Type.String(),
    commentaireAbonnement: Type.Optional(Type.String()),
    idDistributeurCom: Type.String(),
    idRessource: Type.String(),
    typeIdRessource: Type.String(),
    libelleRessource: Type.String(),
    debutValidite: Type.String({ description: 'e.g. 2026-09-01T00:00:00.000+02:00' }),
    finValidite: Type.String(),
    anneeFinValidite: Type.Optional(Type.String()),
    uaiEtab: Type.String(),
    categorieAffectation: Type.String(),
    typeAffectation: Type.String(),
    nbLicenceGlobale: Type.Optional(Type.String()),
    nbLicenceEnseignant: Type.Optional(Type.String()),
    nbLicenceEleve: Type.Optional(Type.String()),
    nbLicenceProfDoc: Type.Optional(Type.String()),
    nbLicenceAutrePersonnel: Type.Optional(Type.String()),
    publicCible: Type.Array(Type.String()),
    codeProjetRessource: Type.Optional(Type.String()),
  },
  { title: 'Abonnement' },
);

export const both = (json: TSchema, xml: string, description: string) => ({
  description,
  content: { 'application/json': { schema: json }, 'application/xml': XML(xml) },
});

export const AbonnementIdParams = Type.Object({
  idAbonnement: Type.String({ minLength: 1, maxLength: 255, description: 'the publisher-chosen subscription id (at most 45 characters; longer ones are reported with the other problems)' }),
});

export const PageQuery = Type.Object({
  debut: Type.Optional(Type.Integer({ minimum: 0, description: 'position of the first subscription, from 1 (0 is read as 1)' })),
  fin: Type.Optional(Type.Integer({ minimum: 0, description: 'position of the last subscription (inclusive); at most 10,000 per page' })),
});

export const XmlBody = (description: string) => ({
  content: { 'application/xml': { schema: Type.String({ description }) }, 'text/xml': { schema: Type.String({ description }) } },
});

export const DecompteQuery = Type.Object({
  idAbonnement: Type.Optional(Type.String({ minLength: 1, maxLength: 45 })),
  codeProjetRessource: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
});

export const RessourcesParams = Type.Object({
  idENT: Type.String({ minLength: 1, maxLength: 64, description: 'the ENT project code, in plain text' }),
  uai: Type.String({ minLength: 1, maxLength: 16, description: 'the establishment asked about' }),
  personId: Type.String({ minLength: 1, maxLength: 64, description: 'GARPersonIdentifiant' }),
});

export const ListeRessourcesSchema = Type.Object({
  listeRessources: Type.Object({ ressource: Type.Array(GarResourceItemSchema) }),
});

export const RessourcesDiffusablesSchema = Type.Object({
  listeRessourcesDiffusables: Type.Object({
    dateGeneration: Type.String(),
    ressourceDiffusable: Type.Array(
      Type.Object({
        idRessource: Type.String(),
        nomRessource: Type.String(),
        idEditeur: Type.String(),
        nomEditeur: Type.String(),
        distributeursCom: Type.Array(Type.Object({ distributeurCom: Type.String(), nomDistributeurCom: Type.String() })),
        distributeurTech: Type.String(),
        nomDistributeurTech: Type.String(),
        affichable: Type.Boolean(),
        diffusable: Type.Boolean(),
        mereFamille: Type.Boolean(),
        membreFamille: Type.Optional(Type.String()),
      }),
    ),
  }),
});
