import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  checkEvent,
  checkEventText,
  EVENT_FIELD_TYPES,
  EVENT_LIMITS,
  EVENT_REJECTIONS,
  EVENT_REQUIRED,
  isPipelineStageEvent,
  PIPELINE_STAGE_FIELD_TYPES,
  PIPELINE_STAGE_REQUIRED,
  type EventRejection,
} from './events.js';
import { STAGES, STATUSES } from './socket/frames.js';

const DOCS = new URL('../../../../docs/', import.meta.url);

interface Property {
  type?: string;
  oneOf?: Array<{ type: string }>;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
}
interface Schema {
  required: string[];
  properties: Record<string, Property>;
  then: { required: string[]; properties: Record<string, Property> };
}

const schema = JSON.parse(readFileSync(new URL('event.schema.json', DOCS), 'utf8')) as Schema;

const typesOf = (p: Property) => (p.oneOf ? p.oneOf.map((o) => o.type) : [p.type]).sort();
const sorted = (keys: Iterable<string>) => [...keys].sort();

describe('the event types match docs/event.schema.json', () => {
  it('every event: the same fields, the same JSON types, the same required ones', () => {
    expect(sorted(Object.keys(EVENT_FIELD_TYPES))).toEqual(sorted(Object.keys(schema.properties)));
    for (const [field, property] of Object.entries(schema.properties)) {
      expect([...EVENT_FIELD_TYPES[field as keyof typeof EVENT_FIELD_TYPES]].sort(), field).toEqual(typesOf(property));
    }
    expect(sorted(Object.keys(EVENT_REQUIRED))).toEqual(sorted(schema.required));
  });

  it('pipeline.stage: its own fields and those of every event, with their types and required ones', () => {
    const fields = new Set([...Object.keys(schema.properties), ...Object.keys(schema.then.properties)]);
    expect(sorted(Object.keys(PIPELINE_STAGE_FIELD_TYPES))).toEqual(sorted(fields));
    for (const [field, property] of [...Object.entries(schema.properties), ...Object.entries(schema.then.properties)]) {
      expect([...PIPELINE_STAGE_FIELD_TYPES[field as keyof typeof PIPELINE_STAGE_FIELD_TYPES]].sort(), field).toEqual(typesOf(property));
    }
    expect(sorted(Object.keys(PIPELINE_STAGE_REQUIRED))).toEqual(sorted(new Set([...schema.required, ...schema.then.required])));
  });

  it('the bounds of checkEvent are the schema bounds', () => {
    const p = schema.then.properties;
    for (const field of ['attempt', 'seq', 'progress', 'eta'] as const) {
      expect({ min: p[field]!.minimum, max: p[field]!.maximum }, field).toEqual(EVENT_LIMITS[field]);
    }
    expect(p.run_id!.maxLength).toBe(EVENT_LIMITS.maxIdBytes);
    for (const field of ['tenant', 'user_id']) {
      expect(schema.properties[field], field).toMatchObject({ minLength: 1, maxLength: EVENT_LIMITS.maxIdBytes });
    }
  });

  it("the schema's stage and status patterns are the protocol's names, in any letter case", () => {
    const stage = new RegExp(schema.then.properties.stage!.pattern!);
    const status = new RegExp(schema.then.properties.status!.pattern!);
    for (const name of STAGES) {
      for (const spelled of [name, name.toUpperCase(), name[0]!.toUpperCase() + name.slice(1)]) expect(stage.test(spelled), spelled).toBe(true);
    }
    for (const name of STATUSES) expect(status.test(name.toUpperCase()), name).toBe(true);
    for (const other of ['cooking', 'radar ', 'finished', '']) expect(stage.test(other) || status.test(other), other).toBe(false);
  });
});

const pipeline = (fields: Record<string, unknown> = {}) => ({ type: 'pipeline.stage', run_id: 'run-42', stage: 'analyst', status: 'processing', ...fields });
const reason = (value: unknown) => {
  const checked = checkEvent(value);
  return checked.ok ? 'ok' : checked.reason;
};

describe('checkEvent accepts and refuses as the gateway does', () => {
  it('accepts the documented events, keeping unknown fields', () => {
    const checked = checkEvent(pipeline({ detail: 'Scoring 48 leads', ts: '2026-11-28T15:00:00.123Z', source: 'analyst', extra: { a: [1] } }));
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(isPipelineStageEvent(checked.event)).toBe(true);
    expect(checked.event.extra).toEqual({ a: [1] });
    expect(reason({ type: 'deploy.finished', service: 'advisor', version: '2.4.1' })).toBe('ok');
  });

  it('names the reason of each refusal', () => {
    const cases: Array<[unknown, EventRejection]> = [
      [[1, 2], 'not_object'],
      [{ no_type: 1 }, 'missing_type'],
      [pipeline({ stage: 'cooking' }), 'invalid_pipeline'],
      [pipeline({ run_id: ' \t' }), 'invalid_pipeline'],
      [pipeline({ status: 'complete', progress: 50 }), 'invalid_pipeline'],
      [pipeline({ attempt: 0 }), 'invalid_pipeline'],
      [pipeline({ ts: '2026-02-29T10:00:00Z' }), 'invalid_pipeline'],
      [pipeline({ tenant: '' }), 'invalid_scope'],
      [{ type: 'note', user_id: 42 }, 'invalid_scope'],
    ];
    for (const [value, expected] of cases) expect(reason(value), JSON.stringify(value)).toBe(expected);
  });

  it('checks the text: JSON, size, UTF-8, nesting, a field the gateway reads given twice', () => {
    const text = (t: string, max?: number) => {
      const checked = checkEventText(t, max);
      return checked.ok ? 'ok' : checked.reason;
    };
    expect(text('')).toBe('not_json');
    expect(text('{"type":')).toBe('not_json');
    expect(text('{"type":"note","type":"other"}')).toBe('not_json');
    expect(text('{"type":"note","other":1,"other":2}')).toBe('ok'); // not a field the gateway reads
    expect(text('{"type":"note","x":{"type":1,"type":2}}')).toBe('ok'); // not at the top
    expect(text('{"type":"note","ts":1e400}')).toBe('not_json');
    expect(text('{"type":"note","pad":"\uD800"}')).toBe('not_utf8');
    expect(text(`{"type":"note","v":${'['.repeat(63)}${']'.repeat(63)}}`)).toBe('ok');
    expect(text(`{"type":"note","v":${'['.repeat(64)}${']'.repeat(64)}}`)).toBe('too_deep');
    expect(text(`{"type":"note","s":"${'['.repeat(100)}"}`)).toBe('ok'); // brackets in a string do not nest
    expect(text('{"type":"note","pad":"ééé"}', 29)).toBe('too_large'); // 30 bytes of UTF-8, 27 characters
    expect(text('{"type":"note","pad":"ééé"}', 30)).toBe('ok');
  });

  it('every reason it gives is one of the gateway metric labels', () => {
    expect(EVENT_REJECTIONS).toContain(reason({ type: 7 }));
    expect(reason(undefined)).toBe('not_json');
    expect(reason(() => 1)).toBe('not_json');
  });
});

// The examples the gateway and every publisher library are tested with.
const EXAMPLES = new URL('event-examples.json', DOCS);
interface Example {
  event?: unknown;
  text?: string;
  reason?: EventRejection;
}

describe('docs/event-examples.json', () => {
  const examples = () => JSON.parse(readFileSync(EXAMPLES, 'utf8')) as { valid: Example[]; invalid: Example[] };
  const check = (example: Example) => (example.text !== undefined ? checkEventText(example.text) : checkEvent(example.event));

  it('accepts every valid example', () => {
    const { valid } = examples();
    expect(valid.length).toBeGreaterThan(0);
    for (const example of valid) expect(check(example), JSON.stringify(example).slice(0, 200)).toMatchObject({ ok: true });
  });

  it('refuses every invalid example, with its reason', () => {
    const { invalid } = examples();
    expect(invalid.length).toBeGreaterThan(0);
    for (const example of invalid) {
      expect(check(example), JSON.stringify(example).slice(0, 200)).toMatchObject({ ok: false, reason: example.reason });
    }
  });
});
