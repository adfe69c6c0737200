import { canonicalJson, canonicalJsonBeside, jsonStringOf } from './canonical-json.js';

/**
 * The texts of entity bodies. Bodies are immutable snapshots, so each one's JSON text (`JSON.stringify`, as stored)
 * and canonical text (`canonicalJson`, for the no-op check, digests and versions) are made at most once per object,
 * and a body about to be stored gets both from one serialisation of its strings.
 */
interface Texts {
  json?: string;
  canonical?: string;
}

const textsOf = new WeakMap<object, Texts>();

function textsFor(body: object): Texts {
  let texts = textsOf.get(body);
  if (!texts) {
    texts = {};
    textsOf.set(body, texts);
  }
  return texts;
}

// Set by `bothTexts` to the JSON text of the value whose canonical text it returns.
let jsonOut = '';

/**
 * The canonical text of plain JSON data, with its `JSON.stringify` text left in `jsonOut`; undefined for anything
 * else (functions, symbols, sparse arrays, class instances, `toJSON`, non-finite numbers, text that is not well-formed
 * Unicode), which the callers then serialise the usual way (canonicalJson refuses what JSON cannot carry exactly).
 */
function bothTexts(value: unknown): string | undefined {
  if (value === null) return (jsonOut = 'null');
  switch (typeof value) {
    case 'string': {
      const text = jsonStringOf(value);
      if (text !== undefined) jsonOut = text;
      return text;
    }
    case 'boolean':
      return (jsonOut = value ? 'true' : 'false');
    case 'number':
      return Number.isFinite(value) ? (jsonOut = JSON.stringify(value)) : undefined;
    case 'object':
      return Array.isArray(value) ? arrayTexts(value) : objectTexts(value as Record<string, unknown>);
    default:
      return undefined;
  }
}

function arrayTexts(array: unknown[]): string | undefined {
  if (Object.getPrototypeOf(array) !== Array.prototype) return undefined;
  const canonical: string[] = [];
  const json: string[] = [];
  for (let i = 0; i < array.length; i += 1) {
    if (!(i in array)) return undefined;
    const item = array[i];
    if (item === undefined) {
      canonical.push('null');
      json.push('null');
      continue;
    }
    const text = bothTexts(item);
    if (text === undefined) return undefined;
    canonical.push(text);
    json.push(jsonOut);
  }
  jsonOut = `[${json.join(',')}]`;
  return `[${canonical.join(',')}]`;
}

function objectTexts(record: Record<string, unknown>): string | undefined {
  const proto: unknown = Object.getPrototypeOf(record);
  if ((proto !== Object.prototype && proto !== null) || 'toJSON' in record) return undefined;
  const keys: string[] = [];
  const canonical: string[] = [];
  const json: string[] = [];
  let sorted = true;
  for (const key of Object.keys(record)) {
    const item = record[key];
    if (item === undefined) continue;
    const text = bothTexts(item);
    if (text === undefined) return undefined;
    const name = jsonStringOf(key);
    if (name === undefined) return undefined;
    if (keys.length > 0 && keys[keys.length - 1]! > key) sorted = false;
    keys.push(key);
    canonical.push(`${name}:${text}`);
    json.push(`${name}:${jsonOut}`);
  }
  jsonOut = `{${json.join(',')}}`;
  if (sorted) return `{${canonical.join(',')}}`;
  // Keys in UTF-16 code unit order, as canonicalJson's sort() has them (keys are distinct).
  const order = keys.map((_, i) => i).sort((a, b) => (keys[a]! < keys[b]! ? -1 : 1));
  return `{${order.map((i) => canonical[i]).join(',')}}`;
}

function fillBoth(body: Record<string, unknown>, texts: Texts): void {
  const canonical = bothTexts(body);
  if (canonical === undefined) return;
  texts.canonical ??= canonical;
  texts.json ??= jsonOut;
}

/** `JSON.stringify(body)`, remembered per body object. */
export function jsonTextOf(body: Record<string, unknown>): string {
  const texts = textsFor(body);
  if (texts.json === undefined) {
    if (texts.canonical === undefined) fillBoth(body, texts);
    texts.json ??= JSON.stringify(body);
  }
  return texts.json;
}

/** `canonicalJson(body)`, remembered per body object. */
export function canonicalOf(body: Record<string, unknown>): string {
  const texts = textsFor(body);
  if (texts.canonical === undefined) {
    // A body whose JSON text is known was read from the store: only its canonical text is missing.
    if (texts.json === undefined) fillBoth(body, texts);
    texts.canonical ??= canonicalJson(body);
  }
  return texts.canonical;
}

/**
 * `canonicalOf(body)` for a received body, whose canonical text its digest check needs before the body is stored: its
 * JSON text, made natively (`JSON.stringify`) and kept for the store, vouches for its strings (`canonicalJsonBeside`),
 * so the canonical text is made without a scan of each string.
 */
export function canonicalTextOf(body: Record<string, unknown>): string {
  const texts = textsFor(body);
  if (texts.canonical === undefined) {
    texts.json ??= JSON.stringify(body);
    texts.canonical = canonicalJsonBeside(body, texts.json);
  }
  return texts.canonical;
}

/**
 * Canonical texts of the bodies recently stored under each key (an entity id), with the JSON text they were stored
 * as. Canonical text is a function of the JSON text alone, so an entry serves whoever reads that very text back —
 * this process or another, in this transaction or a later one — and a key whose stored text differs is a miss.
 */
const recent = new Map<string, { json: string; canonical: string; body: Record<string, unknown> }>();
/** Characters (JSON + canonical) kept in `recent`: about 2,000 bodies of 2 KB. */
const RECENT_CHARS = 8 * 1024 * 1024;
let recentChars = 0;

function forget(key: string): void {
  const entry = recent.get(key);
  if (!entry) return;
  recent.delete(key);
  recentChars -= entry.json.length + entry.canonical.length;
}

/** Notes that `body` is stored under `key`, when both its texts are already known. */
export function rememberStoredBody(key: string, body: Record<string, unknown>): void {
  const texts = textsOf.get(body);
  forget(key);
  if (texts?.json === undefined || texts.canonical === undefined) return;
  const size = texts.json.length + texts.canonical.length;
  if (size > RECENT_CHARS / 64) return;
  recent.set(key, { json: texts.json, canonical: texts.canonical, body: deepFreeze(body) });
  recentChars += size;
  for (const oldest of recent.keys()) {
    if (recentChars <= RECENT_CHARS) break;
    forget(oldest);
  }
}

/** Freezes a JSON value and everything in it: a remembered body is shared by whoever reads its text back. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

/** Notes that nothing is stored under `key` any more. */
export function forgetStoredBody(key: string): void {
  forget(key);
}

/**
 * Parses a stored body; its text is remembered (stringifying the parsed value gives it back). When `key` last stored
 * this very text, that body is returned as it is (deeply frozen, with both texts known).
 */
export function parseBody(text: string, key?: string): Record<string, unknown> {
  const entry = key === undefined ? undefined : recent.get(key);
  // The very text `key` last stored: its body, frozen, instead of parsing the text again.
  if (entry?.json === text) return entry.body;
  const body = JSON.parse(text) as Record<string, unknown>;
  textsOf.set(body, entry?.json === text ? { json: text, canonical: entry.canonical } : { json: text });
  return body;
}
