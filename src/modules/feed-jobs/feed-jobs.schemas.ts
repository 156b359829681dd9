import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Timestamp } from '../../lib/http-schemas.js';
import { FeedResultSchema } from '../directory/directory.schemas.js';

const Count = Type.Integer({ minimum: 0 });

export const JobParams = Type.Object({ id: Type.String({ format: 'uuid', description: 'the job id answered by POST /v1/feed/gar-ent/exports' }) });

export const ExportQuery = Type.Object({
  ent: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'the ENT project (operators: required; ENT tokens: their own, may be left out)' })),
  name: Type.Optional(Type.String({ maxLength: 255, description: 'the archive’s file name, kept with the job for the ENT’s own records' })),
});

export const JobsQuery = Type.Object({
  ent: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'operators: only this ENT project' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
});

export const EstablishmentOutcomeSchema = Type.Object({
  uai: Type.String(),
  name: Nullable(Type.String()),
  state: Type.Union([Type.Literal('pending'), Type.Literal('applied'), Type.Literal('failed'), Type.Literal('refused')], {
    description: 'applied: in one transaction, whole; failed: bad records or references, nothing of it applied; refused: not the caller’s, or not in the export as an establishment (no GAREtab)',
  }),
  files: Count,
  records: Count,
  people: Count,
  problemCount: Count,
  reason: Type.Optional(Type.String()),
  result: Type.Optional(FeedResultSchema),
});

export const FeedJobSchema = Type.Object({
  id: Type.String(),
  entId: Type.String(),
  state: Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('partial')], {
    description: 'partial: some establishments applied, others failed or refused (see establishments)',
  }),
  archiveName: Nullable(Type.String()),
  archiveBytes: Count,
  attempts: Type.Integer({ minimum: 0, description: 'starts of the job: more than one after a stop of the service' }),
  createdAt: Timestamp,
  startedAt: Nullable(Timestamp),
  finishedAt: Nullable(Timestamp),
  progress: Type.Object({
    phase: Type.Optional(Type.String({ description: 'counting, reading, applying, done' })),
    files: Type.Optional(Type.Object({ done: Count, total: Count })),
    records: Type.Optional(Type.Object({ read: Count, applied: Count, total: Nullable(Count) })),
    establishments: Type.Optional(Type.Object({ done: Count, total: Nullable(Count) })),
  }),
  establishments: Type.Array(EstablishmentOutcomeSchema, { description: 'one per establishment named by the export, with its progress and outcome' }),
  problems: Type.Array(
    Type.Object({ file: Type.Optional(Type.String()), uai: Type.Optional(Type.String()), path: Type.String(), message: Type.String() }),
    { description: 'the first 100 problems (see problemCount)' },
  ),
  problemCount: Count,
  error: Nullable(Type.String({ description: 'why the whole job failed' })),
});
export type FeedJob = Static<typeof FeedJobSchema>;

export const FeedJobListSchema = Type.Object({ items: Type.Array(FeedJobSchema) });
