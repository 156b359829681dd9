import { Type, type Static } from '@sinclair/typebox';
import { entryLink } from '../../lib/entry-link.js';

/** GAR's presentation types (typePresentation.code) and their labels. */
export const TYPE_PRESENTATION = {
  MAN: 'manuels numériques',
  MUL: "ressources d'enseignement multimédias",
  ACC: "ressources d'entraînement et d'accompagnement scolaire",
  DIC: 'ressources de référence, dictionnaires et encyclopédies',
  DOC: 'ressources documentaires et de presse',
  PRO: 'ressources de production pédagogique',
} as const;
export type TypePresentationCode = keyof typeof TYPE_PRESENTATION;

export function typePresentation(code: string): { code: string; nom: string } {
  return { code, nom: (TYPE_PRESENTATION as Record<string, string>)[code] ?? code };
}

export const SIREN_ISNI_PATTERN = '^[0-9]{9}_[0-9]{16}$';
const HttpsUrl = (description: string) => Type.String({ maxLength: 2048, pattern: '^https://[^\\s]+$', description });

/** A ScoLOMFR vocabulary entry; each list takes concepts of its own vocabulary only. */
const Concept = (vocabulary: string) =>
  Type.Object(
    {
      uri: Type.String({
        maxLength: 512,
        pattern: `^http://data\\.education\\.fr/voc/scolomfr/concept/scolomfr-voc-${vocabulary}-[A-Za-z0-9-]+$`,
        description: `a concept of ScoLOMFR vocabulary ${vocabulary}`,
      }),
      nom: Type.String({ minLength: 1, maxLength: 255 }),
    },
    { additionalProperties: false },
  );

const SirenIsni = (description: string) => Type.String({ pattern: SIREN_ISNI_PATTERN, description });

/** The catalogue fields of a resource, as GAR's resource list and diffusion list carry them. */
export const CatalogueSchema = Type.Object(
  {
    typePresentation: Type.Optional(
      Type.Union(
        (Object.keys(TYPE_PRESENTATION) as TypePresentationCode[]).map((c) => Type.Literal(c)),
        { description: 'GAR presentation type; also sets the resource typePresentation' },
      ),
    ),
    urlNotice: Type.Optional(HttpsUrl('the ScoLOMFR notice of the resource')),
    urlVignette: Type.Optional(HttpsUrl('thumbnail; also sets the resource urlVignette')),
    typePedagogique: Type.Optional(Type.Array(Concept('010'), { maxItems: 50 })),
    typologieDocument: Type.Optional(Type.Array(Concept('005'), { maxItems: 50 })),
    niveauEducatif: Type.Optional(Type.Array(Concept('022'), { maxItems: 100 })),
    domaineEnseignement: Type.Optional(Type.Array(Concept('015'), { maxItems: 200 })),
    nomSourceEtiquetteGar: Type.Optional(Type.String({ maxLength: 255 })),
    urlSourceEtiquette: Type.Optional(HttpsUrl('where the label comes from')),
    distributeurTech: Type.Optional(SirenIsni('technical distributor (SIREN_ISNI); default: the publisher')),
    nomDistributeurTech: Type.Optional(Type.String({ maxLength: 255 })),
    validateurTech: Type.Optional(SirenIsni('technical validator (SIREN_ISNI); default: the publisher')),
    distributeursCom: Type.Optional(
      Type.Array(
        Type.Object({ distributeurCom: SirenIsni('commercial distributor'), nomDistributeurCom: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: false }),
        { maxItems: 100, description: 'commercial distributors; default: the publisher' },
      ),
    ),
    affichable: Type.Optional(Type.Boolean({ description: 'shown in ENT catalogues (default true)' })),
    diffusable: Type.Optional(Type.Boolean({ description: 'open for diffusion, listed by /ressourcesDiffusables (default true)' })),
    mereFamille: Type.Optional(Type.Boolean({ description: 'this resource federates a family (default false)' })),
    membreFamille: Type.Optional(Type.String({ maxLength: 1024, description: 'the ARK of the family mother it belongs to' })),
  },
  { additionalProperties: false, title: 'Catalogue' },
);
export type Catalogue = Static<typeof CatalogueSchema>;

const ConceptOut = Type.Object({ uri: Type.String(), nom: Type.String() });

/** One item of GAR's `listeRessources`, as the ENT-side service and the JSON API give it. */
export const GarResourceItemSchema = Type.Object({
  idRessource: Type.String({ description: 'the ARK' }),
  idType: Type.Literal('ARK'),
  nomRessource: Type.String(),
  idEditeur: Type.String({ description: "the publisher's SIREN_ISNI (its id when it has none)" }),
  nomEditeur: Type.String(),
  urlVignette: Type.Union([Type.String(), Type.Null()]),
  typePresentation: Type.Object({ code: Type.String(), nom: Type.String() }),
  typePedagogique: Type.Array(ConceptOut),
  typologieDocument: Type.Array(ConceptOut),
  niveauEducatif: Type.Array(ConceptOut),
  domaineEnseignement: Type.Array(ConceptOut),
  urlAccesRessource: Type.String({ description: "the broker's entry link /domaineGar for this project, UAI and resource" }),
  nomSourceEtiquetteGar: Type.String(),
  urlSourceEtiquette: Type.String(),
  distributeurTech: Type.String(),
  validateurTech: Type.String(),
});
export type GarResourceItem = Static<typeof GarResourceItemSchema>;

export const DEFAULT_LABEL_SOURCE = "Accessible via le Gestionnaire d'accès aux ressources (GAR)";

export interface CatalogueFacts {
  resource_id: string;
  resource_name: string;
  publisher_id: string;
  publisher_name: string;
  siren_isni: string | null;
  thumbnail_url: string | null;
  type_presentation: string;
  catalogue: Record<string, unknown>;
}

/** GAR's distributor id of a publisher: its SIREN_ISNI, else its broker id. */
export const distributorOf = (f: Pick<CatalogueFacts, 'siren_isni' | 'publisher_id'>): string => f.siren_isni ?? f.publisher_id;

export function garResourceItem(f: CatalogueFacts, link: { brokerBaseUrl: string; entId: string; uai: string }): GarResourceItem {
  const c = f.catalogue as Catalogue;
  const publisher = distributorOf(f);
  return {
    idRessource: f.resource_id,
    idType: 'ARK',
    nomRessource: f.resource_name,
    idEditeur: publisher,
    nomEditeur: f.publisher_name,
    urlVignette: f.thumbnail_url,
    typePresentation: typePresentation(f.type_presentation),
    typePedagogique: c.typePedagogique ?? [],
    typologieDocument: c.typologieDocument ?? [],
    niveauEducatif: c.niveauEducatif ?? [],
    domaineEnseignement: c.domaineEnseignement ?? [],
    urlAccesRessource: entryLink(link.brokerBaseUrl, link.entId, link.uai, f.resource_id),
    nomSourceEtiquetteGar: c.nomSourceEtiquetteGar ?? DEFAULT_LABEL_SOURCE,
    urlSourceEtiquette: c.urlSourceEtiquette ?? '',
    distributeurTech: c.distributeurTech ?? publisher,
    validateurTech: c.validateurTech ?? publisher,
  };
}
