// The events publishers send (docs/events.md, docs/event.schema.json):
// their types, and `checkEvent`, which accepts and refuses what the gateway
// accepts and refuses, with the gateway's reason (src/event/). A TypeScript
// service can check an event before publishing it; the tests hold this
// module to the schema and to the shared examples (docs/event-examples.json).
//
// Where the schema and the gateway disagree (the examples mark each place),
// this module follows the gateway: it is what relays or drops the event.

import { parseRfc3339 } from './time.js';

export const PIPELINE_STAGE_TYPE = 'pipeline.stage';

/** The fields the gateway reads on every event. */
export interface EventFields {
  /** What kind of event this is; `pipeline.stage` is folded into runs, any other is relayed as is. */
  type: string;
  /** When it happened: RFC 3339, or Unix milliseconds. */
  ts?: string | number;
  /** The publishing service (informational). */
  source?: string;
  /** Only connections of this tenant (and admins) see the event. */
  tenant?: string;
  /** Only this user's connections (and admins) see the event. */
  user_id?: string;
}

/** The fields of a `pipeline.stage` event besides those of every event. */
export interface PipelineStageFields extends EventFields {
  type: typeof PIPELINE_STAGE_TYPE;
  run_id: string;
  /** radar, analyst, advisor, actuator, quality or report, in any letter case. */
  stage: string;
  /** idle, processing, complete or error, in any letter case. */
  status: string;
  detail?: string;
  /** Which run of the stage: 1, then 2, 3, … for retries. */
  attempt?: number;
  /** The publisher's sequence number within the run, from 0. */
  seq?: number;
  /** processing only: 0 to 100. */
  progress?: number;
  /** processing only: seconds still needed, 0 to a year. */
  eta?: number;
}

/** JSON types a field of TypeScript type T may hold, as a JSON Schema names them. */
type JsonTypes<T> = T extends string ? 'string' : T extends number ? 'number' | 'integer' : never;
type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
type FieldTypes<T> = { readonly [K in keyof T]-?: readonly JsonTypes<NonNullable<T[K]>>[] };

/**
 * Every field of the interfaces above with the JSON types it holds, and
 * which are required: the compiler holds these to the interfaces (each
 * field, no other, of a type the field allows), the tests hold them to
 * docs/event.schema.json.
 */
export const EVENT_FIELD_TYPES = {
  type: ['string'],
  ts: ['string', 'integer'],
  source: ['string'],
  tenant: ['string'],
  user_id: ['string'],
} as const satisfies FieldTypes<EventFields>;
export const EVENT_REQUIRED = { type: true } as const satisfies Record<RequiredKeys<EventFields>, true>;

export const PIPELINE_STAGE_FIELD_TYPES = {
  type: ['string'],
  ts: ['string', 'integer'],
  source: ['string'],
  tenant: ['string'],
  user_id: ['string'],
  run_id: ['string'],
  stage: ['string'],
  status: ['string'],
  detail: ['string'],
  attempt: ['integer'],
  seq: ['integer'],
  progress: ['number'],
  eta: ['number'],
} as const satisfies FieldTypes<PipelineStageFields>;
export const PIPELINE_STAGE_REQUIRED = { type: true, run_id: true, stage: true, status: true } as const satisfies Record<
  RequiredKeys<PipelineStageFields>,
  true
>;

/** Any other field is allowed, and relayed byte for byte. */
type Open<T> = T & { [field: string]: unknown };
export type GenericEvent = Open<EventFields>;
export type PipelineStageEvent = Open<PipelineStageFields>;
export type TacticalLinkEvent = PipelineStageEvent | GenericEvent;

/** The gateway's reasons for refusing a message (the label of `tactical_link_events_rejected_total`). */
export const EVENT_REJECTIONS = [
  'too_large',
  'not_utf8',
  'not_json',
  'not_object',
  'too_deep',
  'missing_type',
  'invalid_pipeline',
  'invalid_scope',
] as const;
export type EventRejection = (typeof EVENT_REJECTIONS)[number];

export type EventCheck =
  | { ok: true; event: TacticalLinkEvent }
  | { ok: false; reason: EventRejection; message: string };

/** The gateway's limits (`--max-event-bytes` defaults to the first). */
export const EVENT_LIMITS = {
  maxEventBytes: 64 * 1024,
  maxNesting: 64,
  /** `run_id`, `tenant`, `user_id`: bytes of UTF-8. */
  maxIdBytes: 128,
  attempt: { min: 1, max: 1_000_000 },
  seq: { min: 0, max: Number.MAX_SAFE_INTEGER },
  progress: { min: 0, max: 100 },
  eta: { min: 0, max: 365 * 24 * 3600 },
} as const;

const STAGE_NAMES = ['radar', 'analyst', 'advisor', 'actuator', 'quality', 'report'];
const STATUS_NAMES = ['idle', 'processing', 'complete', 'error'];
/** The fields the gateway reads (its `Head`): given twice, the message is not JSON to it. */
const READ_FIELDS = new Set(['type', 'run_id', 'stage', 'status', 'detail', 'ts', 'tenant', 'user_id', 'attempt', 'seq', 'progress', 'eta']);

type Obj = Record<string, unknown>;

function refuse(reason: EventRejection, message: string): EventCheck {
  return { ok: false, reason, message };
}

const encoder = new TextEncoder();
const utf8Bytes = (text: string) => encoder.encode(text).length;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const has = (o: Obj, key: string) => Object.prototype.hasOwnProperty.call(o, key);

/**
 * One pass over a valid JSON text, as the gateway's: how deep arrays and
 * objects nest, and a field the gateway reads that the top-level object
 * names twice (null when none).
 */
function scan(text: string): { depth: number; repeated: string | null } {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  let escaped = false;
  let keyStart = -1;
  let keyNext = false;
  let repeated: string | null = null;
  const seen = new Set<string>();
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') {
        inString = false;
        if (keyStart >= 0) {
          const key = JSON.parse(text.slice(keyStart, i + 1)) as string;
          if (READ_FIELDS.has(key) && seen.has(key)) repeated ??= key;
          seen.add(key);
          keyStart = -1;
        }
      }
      continue;
    }
    if (c === '"') {
      inString = true;
      if (depth === 1 && keyNext) keyStart = i;
      keyNext = false;
    } else if (c === '{' || c === '[') {
      depth += 1;
      deepest = Math.max(deepest, depth);
      keyNext = depth === 1;
    } else if (c === '}' || c === ']') depth -= 1;
    else if (c === ',' && depth === 1) keyNext = true;
  }
  return { depth: deepest, repeated };
}

/** The JSON object of `text`, or why the gateway would not take it for one. */
function parseObject(text: string): { ok: true; value: Obj } | { ok: false; reason: EventRejection; message: string } {
  const first = text.trimStart()[0];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: 'not_json', message: `not JSON: ${(err as Error).message}` };
  }
  if (first !== '{') return { ok: false, reason: 'not_object', message: 'JSON, but not an object' };
  const o = value as Obj;
  const { depth, repeated } = scan(text);
  if (repeated !== null) return { ok: false, reason: 'not_json', message: `field \`${repeated}\` given twice` };
  // A number no double can hold (1e400) is out of range for the gateway's parser, where it reads the field.
  const huge = [...READ_FIELDS].find((key) => typeof o[key] === 'number' && !Number.isFinite(o[key]));
  if (huge !== undefined) return { ok: false, reason: 'not_json', message: `\`${huge}\`: number out of range` };
  if (depth > EVENT_LIMITS.maxNesting) {
    return { ok: false, reason: 'too_deep', message: `arrays and objects nest deeper than ${EVENT_LIMITS.maxNesting} levels` };
  }
  return { ok: true, value: o };
}

const asciiLower = (text: string) => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

function nameProblem(o: Obj, field: 'stage' | 'status', allowed: readonly string[]): string | null {
  if (!has(o, field)) return `\`${field}\` is missing`;
  const v = o[field];
  if (typeof v !== 'string') return `\`${field}\` must be a string`;
  return allowed.includes(asciiLower(v)) ? null : `unknown ${field} ${JSON.stringify(v.slice(0, 40))} (expected one of ${allowed.join(', ')})`;
}

function runIdProblem(o: Obj): string | null {
  if (!has(o, 'run_id')) return '`run_id` is missing';
  const v = o.run_id;
  if (typeof v !== 'string') return '`run_id` must be a string';
  if (utf8Bytes(v) > EVENT_LIMITS.maxIdBytes) return `\`run_id\` is longer than ${EVENT_LIMITS.maxIdBytes} bytes`;
  return /^\p{White_Space}*$/u.test(v) ? '`run_id` is empty' : null;
}

function rangeProblem(o: Obj, field: 'attempt' | 'seq' | 'progress' | 'eta', whole: boolean): string | null {
  if (!has(o, field)) return null;
  const v = o[field];
  const { min, max } = EVENT_LIMITS[field];
  const fits = typeof v === 'number' && v >= min && v <= max && (!whole || Number.isInteger(v));
  return fits ? null : `\`${field}\` must be a ${whole ? 'whole ' : ''}number from ${min} to ${max}`;
}

function tsProblem(o: Obj): string | null {
  if (!has(o, 'ts') || typeof o.ts === 'number') return null;
  return typeof o.ts === 'string' && parseRfc3339(o.ts) !== null ? null : '`ts` must be an RFC 3339 time or Unix milliseconds';
}

/** What makes a `pipeline.stage` event invalid to the gateway, if anything. */
function pipelineProblem(o: Obj): string | null {
  const status = nameProblem(o, 'status', STATUS_NAMES);
  if (status) return status;
  const range = rangeProblem(o, 'progress', false) ?? rangeProblem(o, 'eta', false);
  if (range) return range;
  if (asciiLower(o.status as string) !== 'processing' && (has(o, 'progress') || has(o, 'eta'))) {
    return '`progress` and `eta` belong to processing events only';
  }
  if (has(o, 'detail') && typeof o.detail !== 'string') return '`detail` must be a string';
  return (
    tsProblem(o) ??
    runIdProblem(o) ??
    nameProblem(o, 'stage', STAGE_NAMES) ??
    rangeProblem(o, 'attempt', true) ??
    rangeProblem(o, 'seq', true)
  );
}

function scopeProblem(o: Obj): string | null {
  for (const field of ['tenant', 'user_id']) {
    if (!has(o, field)) continue;
    const v = o[field];
    if (typeof v !== 'string' || v === '' || utf8Bytes(v) > EVENT_LIMITS.maxIdBytes) {
      return `\`${field}\` must be a non-empty string of at most ${EVENT_LIMITS.maxIdBytes} bytes`;
    }
  }
  return null;
}

/**
 * Checks a message as the gateway would on the bus: the text published.
 * `{ ok: true, event }`, or `{ ok: false, reason, message }` with the
 * gateway's reason.
 */
export function checkEventText(text: string, maxBytes: number = EVENT_LIMITS.maxEventBytes): EventCheck {
  if (LONE_SURROGATE.test(text)) return refuse('not_utf8', 'not valid UTF-8 (a lone surrogate)');
  const size = utf8Bytes(text);
  if (size > maxBytes) return refuse('too_large', `${size} bytes, over the ${maxBytes}-byte limit`);
  const parsed = parseObject(text);
  if (!parsed.ok) return parsed;
  const o = parsed.value;
  if (typeof o.type !== 'string') return refuse('missing_type', 'no string field `type`');
  if (o.type === PIPELINE_STAGE_TYPE) {
    const problem = pipelineProblem(o);
    if (problem) return refuse('invalid_pipeline', problem);
  }
  const scope = scopeProblem(o);
  if (scope) return refuse('invalid_scope', scope);
  return { ok: true, event: o as TacticalLinkEvent };
}

/** Checks an event object (as it would be published: JSON.stringify of it). */
export function checkEvent(value: unknown, maxBytes?: number): EventCheck {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    return refuse('not_json', `cannot be written as JSON: ${(err as Error).message}`);
  }
  if (text === undefined) return refuse('not_json', 'cannot be written as JSON');
  return checkEventText(text, maxBytes);
}

/** Whether a checked event is a pipeline event (the gateway folds it into its run). */
export function isPipelineStageEvent(event: TacticalLinkEvent): event is PipelineStageEvent {
  return event.type === PIPELINE_STAGE_TYPE;
}
