import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/*
 * The one typed view of the schema. It must match migrations/ exactly; test/db-schema.test.ts
 * compares the two against the live catalog.
 */
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;

export interface EntProjectsTable {
  id: string;
  name: string;
  kind: 'ent' | 'edugar';
  created_at: CreatedAt;
  /** Who may assign at its schools: `respaff`, `heads`, `primary-teachers` (see assignment-policy.ts). */
  assignment_policy: ColumnType<string[], string[] | undefined, string[]>;
}

export interface EstablishmentsTable {
  uai: string;
  ent_id: string;
  name: string;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  /** 1: primary school (GAR-ENT-1D); 2: secondary. */
  degree: ColumnType<1 | 2, 1 | 2 | undefined, 1 | 2>;
  /** The national directory's official fields (nature_uai, type_uai, commune, ...), GAR's names. */
  official: ColumnType<Record<string, string>, string | undefined, string>;
}

export interface PublishersTable {
  id: string;
  name: string;
  contact_email: string;
  created_at: CreatedAt;
  /** GAR's distributor id, SIREN_ISNI (`[0-9]{9}_[0-9]{16}`). */
  siren_isni: string | null;
}

// --- directory ---
export interface PeopleTable {
  id: Generated<number>;
  ent_id: string;
  /** The ENT's own id of the person (GARPersonIdentifiant). */
  person_id: string;
  last_name: string;
  first_name: string;
  other_first_names: ColumnType<string[], string[] | undefined, string[]>;
  birth_name: string | null;
  civility: string | null;
  birth_date: string | null;
  emails: ColumnType<string[], string[] | undefined, string[]>;
  struct_rattach: string | null;
  disciplines: ColumnType<string[], string[] | undefined, string[]>;
  content_hash: ColumnType<string, string | undefined, string>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  gone_at: Date | null;
  restricted_at: Date | null;
  objected_at: Date | null;
}

/** A person at one establishment: profiles there, and whether the last snapshot still had them. */
export interface EstablishmentPeopleTable {
  uai: string;
  person_id: number;
  profiles: string[];
  mefs: ColumnType<string[], string[] | undefined, string[]>;
  subjects: ColumnType<string[], string[] | undefined, string[]>;
  updated_at: UpdatedAt;
  gone_at: Date | null;
}

export interface GroupsTable {
  id: Generated<number>;
  uai: string;
  code: string;
  name: string;
  kind: 'DIVISION' | 'GROUPE';
  divisions: ColumnType<string[], string[] | undefined, string[]>;
}

export interface GroupMembersTable {
  group_id: number;
  person_id: number;
}

export interface TeachingsTable {
  person_id: number;
  group_id: number;
  subjects: ColumnType<string[], string[] | undefined, string[]>;
}

export interface CodeListTable {
  uai: string;
  code: string;
  name: string;
}

export interface AssignmentManagersTable {
  id: Generated<number>;
  ent_id: string;
  person_id: string;
  last_name: string;
  first_name: string;
  email: string;
  uais: string[];
  updated_at: UpdatedAt;
  /** Last time a RespAff export named this person; retention deletes them three months after. */
  seen_at: UpdatedAt;
}

// --- resources and data requests ---
export interface ResourcesTable {
  id: string;
  publisher_id: string;
  name: string;
  type_presentation: string;
  description: string | null;
  thumbnail_url: string | null;
  access_url: string | null;
  /** Null for a resource reached only by CAS or OpenID Connect (both null or both set). */
  sp_entity_id: string | null;
  sp_acs_url: string | null;
  sp_signing_cert: string | null;
  sp_encryption_cert: string | null;
  sp_metadata_xml: string | null;
  sp_requested_attributes: ColumnType<string[], string[] | undefined, string[]>;
  ido_scope: ColumnType<IdoScopeValue, IdoScopeValue | undefined, IdoScopeValue>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  /** The landing page of the resource's catalogue notice: where the entry link sends the browser. */
  resource_url: ColumnType<string | null, string | null | undefined, string | null>;
  /** null: 'redirect' when resource_url is set, else 'unsolicited'. */
  sso_mode: ColumnType<'redirect' | 'unsolicited' | null, 'redirect' | 'unsolicited' | null | undefined, 'redirect' | 'unsolicited' | null>;
  /** What the SP's metadata declares (src/saml/sp-metadata.ts SpProfile); null: only sp_acs_url is known. */
  sp_profile: ColumnType<unknown | null, string | null | undefined, string | null>;
  /** The publisher's per-SP options (src/doors/saml-idp/options.ts); {} is every default. */
  sp_options: ColumnType<unknown, string | undefined, string>;
  cas_back_channel_logout: ColumnType<boolean, boolean | undefined, boolean>;
  /** GAR catalogue fields (vocabularies, labels, distributors, families); see gar-ws/catalogue.ts. */
  catalogue: ColumnType<Record<string, unknown>, string | undefined, string>;
}

/** Browser state of the SAML IdP door kept across a round trip (an AuthnRequest, a logout chain). */
export interface SamlIdpPendingTable {
  id: string;
  kind: 'authn' | 'logout' | 'ent_logout';
  state: ColumnType<unknown, string, string>;
  created_at: CreatedAt;
  expires_at: Date | string;
  /** GAR catalogue fields (vocabularies, labels, distributors, families); see gar-ws/catalogue.ts. */
  catalogue: ColumnType<Record<string, unknown>, string | undefined, string>;
}

export interface DataRequestsTable {
  id: Generated<string>;
  resource_id: string;
  status: 'pending' | 'reviewed' | 'superseded';
  submitted_by: string;
  submitted_at: Date | string;
  reviewed_by: string | null;
  reviewed_at: Date | null;
}

export interface DataRequestItemsTable {
  request_id: string;
  code: string;
  purpose: string;
  approved: boolean | null;
  comment: string | null;
}

export interface ReleasedAttributesTable {
  resource_id: string;
  code: string;
  request_id: string;
  approved_at: Date | string;
  /** The dictionary format version the code was approved under (or the publisher opted in to). */
  format_version: ColumnType<number, number | undefined, number>;
}

/** project: one IDO per ENT project (GAR); pairwise: per publisher; stable: per publisher, across linked projects. */
export type IdoScopeValue = 'project' | 'pairwise' | 'stable';

/** People of different ENT projects confirmed to be one person (person_hash as in rights_records). */
export interface PersonLinksTable {
  ent_id: string;
  person_hash: string;
  /** A keyed hash shared by every linked person; never derived from anything a publisher sees. */
  link_key: string;
  /** When the link was (last) confirmed. */
  created_at: UpdatedAt;
  created_by: string;
}

export interface MefsTable extends CodeListTable {
  /** GARMEFSTAT11 of the MEF (GAR-ENT); its first four characters are the MEFSTAT4 level. */
  mefstat11: ColumnType<string | null, string | null | undefined, string | null>;
}

// --- subscriptions and assignments ---
export type LicenceCount = number | 'unlimited';
export type Licences =
  | { global: LicenceCount }
  | { pupils: LicenceCount; teachers: LicenceCount; librarians: LicenceCount; otherStaff: LicenceCount };

export interface SubscriptionsTable {
  pk: Generated<number>;
  id: string;
  publisher_id: string;
  resource_id: string;
  uai: string;
  starts_at: Date | string;
  ends_at: Date | string;
  school_year: string | null;
  assignment_type: 'INDIV' | 'ETABL';
  audiences: string[];
  licences: ColumnType<Licences, string, string>;
  comment: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  category: ColumnType<'transferable' | 'non transferable', 'transferable' | 'non transferable' | undefined, 'transferable' | 'non transferable'>;
  project_code: ColumnType<string | null, string | null | undefined, string | null>;
  resource_label: ColumnType<string | null, string | null | undefined, string | null>;
  resource_id_type: ColumnType<string, string | undefined, string>;
  distributor_id: ColumnType<string | null, string | null | undefined, string | null>;
}

/** A deleted subscription as it was, kept with its id for GAR's `aboSuppr` searches. */
export interface DeletedSubscriptionsTable {
  pk: number;
  id: string;
  publisher_id: string;
  resource_id: string;
  uai: string;
  starts_at: Date | string;
  ends_at: Date | string;
  school_year: string | null;
  assignment_type: 'INDIV' | 'ETABL';
  audiences: string[];
  licences: ColumnType<Licences, string, string>;
  comment: string | null;
  category: 'transferable' | 'non transferable';
  project_code: string | null;
  resource_label: string | null;
  resource_id_type: string;
  distributor_id: string | null;
  created_at: Date | string;
  updated_at: Date | string;
  deleted_at: Date | string;
}

/** A client certificate the operator mapped to a publisher or an ENT project. */
export interface ClientCertificatesTable {
  id: Generated<string>;
  label: string;
  fingerprint256: string | null;
  subject: string | null;
  issuer: string | null;
  publisher_id: string | null;
  ent_id: string | null;
  valid_from: Date | string;
  valid_until: Date | string;
  revoked_at: Date | string | null;
  created_at: CreatedAt;
}

export interface AssignmentsTable {
  id: Generated<number>;
  subscription_pk: number;
  uai: string;
  target_type: 'person' | 'division' | 'group' | 'profile' | 'establishment';
  person_id: number | null;
  group_id: number | null;
  profile: string | null;
  created_at: CreatedAt;
  created_by: string;
  /** The rule of the ENT project's assignment policy that let created_by assign, or `operator`. */
  created_as: string | null;
  /** Set while the group is absent from the directory: the group's code, kept to reattach it. */
  group_code: ColumnType<string | null, string | null | undefined, string | null>;
  detached_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

// --- access log (partitioned by month on `at`) ---
export interface AccessLogTable {
  id: Generated<number>;
  at: Date | string;
  ent_id: string;
  uai: string;
  /** people.id: an internal reference, never a name. */
  person_ref: number | null;
  profile: string | null;
  resource_id: string;
  publisher_id: string | null;
  outcome: 'granted' | 'refused' | 'error';
  /** The way in (src/access/doors.ts); every door writes the same row. */
  door: ColumnType<string, string | undefined, string>;
  reason: string | null;
  /** Names of the released attributes, never their values. */
  attributes: ColumnType<string[], string[] | undefined, string[]>;
  key_id: string | null;
  response_id: string | null;
  client_ip: string | null;
  request_id: string | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: Date | string;
  actor_sub: string;
  actor_role: string;
  /** e.g. `PUT /v1/resources/:resourceId` */
  action: string;
  object_type: string;
  object_id: string | null;
  /** Names of the fields the request carried, never their values. */
  fields: ColumnType<string[], string[] | undefined, string[]>;
  status: number;
  request_id: string | null;
}

/** Daily access counts without personal data; they outlive the twelve-month purge. */
export interface AccessStatsDailyTable {
  day: string;
  ent_id: string;
  uai: string;
  resource_id: string;
  publisher_id: ColumnType<string, string | undefined, string>;
  profile: ColumnType<string, string | undefined, string>;
  outcome: 'granted' | 'refused' | 'error';
  count: number;
}

export interface MaintenanceStateTable {
  key: string;
  value: string;
}

export interface RetentionRunsTable {
  id: Generated<number>;
  started_at: Date | string;
  finished_at: Date | string | null;
  dry_run: boolean;
  removed: ColumnType<Record<string, unknown>, string | undefined, string>;
  error: string | null;
}

// --- the ENT entry door (the broker as SAML SP of each ENT project's IdP) ---
export interface EntIdpsTable {
  ent_id: string;
  entity_id: string;
  sso_url: string;
  sso_binding: 'HTTP-Redirect';
  signing_certificates: string[];
  metadata_xml: string | null;
  attr_ent_id: ColumnType<string, string | undefined, string>;
  attr_person_id: ColumnType<string, string | undefined, string>;
  allow_sha1: ColumnType<boolean, boolean | undefined, boolean>;
  /** The IdP's HTTP-Redirect SingleLogoutService, where an ENT-started logout is answered. */
  slo_url: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface EntryRequestsTable {
  id: string;
  authn_request_id: string;
  ent_id: string;
  uai: string | null;
  resource_id: string | null;
  return_path: string | null;
  created_at: Date | string;
  expires_at: Date | string;
}

// --- CAS and OpenID Connect doors ---
export interface CasServicesTable {
  resource_id: string;
  url: string;
  is_prefix: boolean;
  origin: string;
}

export interface CasTicketsTable {
  ticket_hash: Buffer;
  service: string;
  resource_id: string;
  session_id: string | null;
  released: ColumnType<unknown, string, string>;
  created_at: Date | string;
  expires_at: Date | string;
}

export interface SamlSeenAssertionsTable {
  idp_entity_id: string;
  assertion_id: string;
  expires_at: Date | string;
}

/** An objection or restriction kept beyond the person's directory data (issue 11). */
export interface RightsRecordsTable {
  ent_id: string;
  /** HMAC-SHA-256 of the person id within its project, under IDO_SECRET. */
  person_hash: string;
  kind: 'restriction' | 'objection';
  recorded_at: Date | string;
  recorded_by: string;
}

export interface OidcClientsTable {
  client_id: string;
  resource_id: string;
  redirect_uris: string[];
  auth_method: 'client_secret_basic' | 'private_key_jwt' | 'none';
  jwks: ColumnType<{ keys: unknown[] } | null, string | null, string | null>;
  jwks_uri: string | null;
  secret_salt: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

export interface OidcPayloadsTable {
  kind: string;
  id: string;
  payload: ColumnType<Record<string, unknown>, string, string>;
  grant_id: string | null;
  uid: string | null;
  user_code: string | null;
  consumed_at: Date | string | null;
  expires_at: Date | string | null;
}

export interface Database {
  access_log: AccessLogTable;
  audit_log: AuditLogTable;
  access_stats_daily: AccessStatsDailyTable;
  rights_records: RightsRecordsTable;
  maintenance_state: MaintenanceStateTable;
  retention_runs: RetentionRunsTable;
  ent_projects: EntProjectsTable;
  establishments: EstablishmentsTable;
  publishers: PublishersTable;
  people: PeopleTable;
  establishment_people: EstablishmentPeopleTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  teachings: TeachingsTable;
  subjects: CodeListTable;
  mefs: MefsTable;
  person_links: PersonLinksTable;
  assignment_managers: AssignmentManagersTable;
  resources: ResourcesTable;
  data_requests: DataRequestsTable;
  data_request_items: DataRequestItemsTable;
  released_attributes: ReleasedAttributesTable;
  subscriptions: SubscriptionsTable;
  assignments: AssignmentsTable;
  cas_services: CasServicesTable;
  cas_tickets: CasTicketsTable;
  oidc_clients: OidcClientsTable;
  oidc_payloads: OidcPayloadsTable;
  ent_idps: EntIdpsTable;
  entry_requests: EntryRequestsTable;
  saml_seen_assertions: SamlSeenAssertionsTable;
  saml_idp_pending: SamlIdpPendingTable;
  browser_sessions: BrowserSessionsTable;
  browser_session_participants: BrowserSessionParticipantsTable;
  deleted_subscriptions: DeletedSubscriptionsTable;
  client_certificates: ClientCertificatesTable;
  feed_jobs: FeedJobsTable;
}

/** A nightly GAR-ENT export imported in the background (src/modules/feed-jobs). */
export interface FeedJobsTable {
  id: string;
  ent_id: string;
  state: 'queued' | 'running' | 'succeeded' | 'failed' | 'partial';
  created_by: string;
  archive_name: string | null;
  archive_path: string | null;
  archive_bytes: ColumnType<number, number | undefined, number>;
  attempts: ColumnType<number, number | undefined, number>;
  progress: ColumnType<Record<string, unknown>, string | undefined, string>;
  establishments: ColumnType<unknown[], string | undefined, string>;
  problems: ColumnType<unknown[], string | undefined, string>;
  problem_count: ColumnType<number, number | undefined, number>;
  error: string | null;
  created_at: CreatedAt;
  started_at: Date | string | null;
  finished_at: Date | string | null;
  updated_at: UpdatedAt;
}

/** A person's broker session in a browser; the cookie value is never stored, only its SHA-256. */
export interface BrowserSessionsTable {
  id: Generated<string>;
  token_hash: Buffer;
  ent_id: string;
  person_id: string;
  uai_hint: string | null;
  authn_instant: Date | string;
  authn_context_class_ref: string;
  idp_entity_id: string | null;
  idp_name_id: string | null;
  idp_name_id_format: string | null;
  idp_session_index: string | null;
  created_at: Date | string;
  last_seen_at: Date | string;
  ended_at: Date | string | null;
  ended_reason: string | null;
}

/** A publisher a browser session reached: told when the session ends (SAML SLO, CAS logout). */
export interface BrowserSessionParticipantsTable {
  session_id: string;
  door: string;
  resource_id: string;
  /** SP entityID, CAS service URL or OIDC client id. */
  party: string;
  name_id: string | null;
  session_index: string | null;
  slo_url: string | null;
  created_at: Date | string;
}

export type EntProject = Selectable<EntProjectsTable>;
export type NewEntProject = Insertable<EntProjectsTable>;
export type Establishment = Selectable<EstablishmentsTable>;
export type Publisher = Selectable<PublishersTable>;
