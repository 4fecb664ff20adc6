// A protobuf message as JSON, so that the JSON diff and its rules (ignore
// paths, unordered arrays, floatPlaces, timestamps, noise learning) apply to
// gRPC answers unchanged. The mapping is protobuf's canonical JSON
// (https://protobuf.dev/programming-guides/json/): field names in lowerCamelCase
// (`json_name`), enums by name, 64-bit integers as strings, bytes as base64,
// implicit-presence fields holding their default left out, well-known types
// in their own forms (a Timestamp is an RFC 3339 string). One addition:
// fields the descriptors do not know are kept, under `#<number>`, so that a
// candidate built from a newer .proto shows what it adds instead of hiding it.
import protobuf from 'protobufjs';
import protojson from 'protobufjs/ext/protojson.js';

type Json = Record<string, unknown>;

/** A message whose fields a newer schema adds: protobufjs keeps their raw bytes. */
type DecodedMessage = protobuf.Message & { readonly [field: string]: unknown };

const WELL_KNOWN = '.google.protobuf.';

/** Decode one message of `type` as canonical JSON. Throws when the bytes are not such a message. */
export function decodeMessageJson(type: protobuf.Type, bytes: Uint8Array): Json {
  const reader = protobuf.Reader.create(bytes);
  // Kept for `#<number>` keys; protobufjs drops unknown fields by default.
  reader.discardUnknown = false;
  return messageJson(type, type.decode(reader) as DecodedMessage) as Json;
}

/** How one field is written: decided once per type, not per message (reflection is slow). */
interface FieldPlan {
  /** protobufjs' property name, and the JSON key. */
  readonly name: string;
  readonly key: string;
  readonly shape: 'single' | 'list' | 'map';
  /** Written even at its default (oneof members, `optional`, messages, proto2 fields). */
  readonly presence: boolean;
  readonly write: (value: unknown) => unknown;
  /** A map's key as JSON writes it (64-bit keys are 8-character hashes in protobufjs). */
  readonly mapKey: ((key: string) => string) | undefined;
}

/** A type's fields, or undefined for a well-known type (protobufjs writes those). */
type TypePlan = readonly FieldPlan[] | undefined;

const plans = new WeakMap<protobuf.Type, TypePlan>();

function planOf(type: protobuf.Type): TypePlan {
  if (plans.has(type)) return plans.get(type);
  // Well-known types have forms of their own: a Timestamp is a string, a wrapper its bare value.
  const plan = type.fullName.startsWith(WELL_KNOWN)
    ? undefined
    : type.fieldsArray.map((f) => fieldPlan(f.resolve()));
  plans.set(type, plan);
  return plan;
}

function fieldPlan(field: protobuf.Field): FieldPlan {
  const isMessage = field.resolvedType instanceof protobuf.Type;
  let mapKey: FieldPlan['mapKey'];
  if (field instanceof protobuf.MapField && LONG_TYPES.has(field.keyType)) {
    const unsigned = field.keyType === 'uint64' || field.keyType === 'fixed64';
    mapKey = (key) => String(protobuf.util.longFromKey(key, unsigned));
  }
  return {
    name: field.name,
    key: field.jsonName,
    shape: field instanceof protobuf.MapField ? 'map' : field.repeated ? 'list' : 'single',
    presence: field.hasPresence || isMessage,
    write: valueWriter(field),
    mapKey,
  };
}

function messageJson(type: protobuf.Type, message: DecodedMessage): unknown {
  const plan = planOf(type);
  if (plan === undefined) return protojson.toJson(type, message);
  const out: Json = {};
  for (const f of plan) {
    const value = message[f.name];
    if (value === null || value === undefined) continue;
    if (f.shape === 'list') {
      const list = value as unknown[];
      if (list.length > 0) out[f.key] = list.map(f.write);
    } else if (f.shape === 'map') {
      const entries = value as Record<string, unknown>;
      let map: Json | undefined;
      for (const key in entries) {
        map ??= {};
        map[f.mapKey === undefined ? key : f.mapKey(key)] = f.write(entries[key]);
      }
      if (map !== undefined) out[f.key] = map;
    } else if (Object.hasOwn(message, f.name) && (f.presence || !isZero(value))) {
      out[f.key] = f.write(value);
    }
  }
  const unknowns = message.$unknowns;
  if (unknowns !== undefined) addUnknowns(unknowns, out);
  return out;
}

const LONG_TYPES: ReadonlySet<string> = new Set([
  'int64',
  'uint64',
  'sint64',
  'fixed64',
  'sfixed64',
]);

/**
 * A field without presence (proto3, editions' IMPLICIT) at its default: 0,
 * false, "", empty bytes, the first enum value. Such a field is not sent, so
 * one sent anyway equals one that was not.
 */
function isZero(value: unknown): boolean {
  switch (typeof value) {
    case 'number':
      return value === 0;
    case 'boolean':
      return !value;
    case 'string':
      return value === '';
    default:
      // bytes (a Uint8Array) or a 64-bit Long
      return value instanceof Uint8Array ? value.byteLength === 0 : String(value) === '0';
  }
}

function valueWriter(field: protobuf.Field): (value: unknown) => unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    return (value) => messageJson(resolved, value as DecodedMessage);
  }
  if (resolved instanceof protobuf.Enum) {
    if (resolved.fullName === '.google.protobuf.NullValue') return () => null;
    // A number the enum does not name (a newer candidate's value) stays a number.
    return (value) => resolved.valuesById[value as number] ?? value;
  }
  switch (field.type) {
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      return String;
    case 'bytes':
      return (value) => Buffer.from(value as Uint8Array).toString('base64');
    case 'float':
      return (value) => floatJson(value as number);
    case 'double':
      return (value) => (Number.isFinite(value) ? value : String(value));
    default:
      return (value) => value;
  }
}

/**
 * A float as the shortest decimal that reads back as the same float32
 * (0.1f is 0.10000000149011612 as a double): what Java and Go print.
 */
function floatJson(value: number): number | string {
  if (!Number.isFinite(value)) return String(value);
  for (let digits = 1; digits < 9; digits++) {
    const shorter = Number(value.toPrecision(digits));
    if (Math.fround(shorter) === value) return shorter;
  }
  return value;
}

/**
 * Unknown fields under `#<number>`: varints and 64-bit values as decimal
 * strings (their signedness is unknown), 32-bit values as numbers,
 * length-delimited values and groups as base64. A number seen more than once
 * holds the list.
 */
function addUnknowns(unknowns: readonly Uint8Array[], out: Json): void {
  for (const raw of unknowns) {
    const reader = protobuf.Reader.create(raw);
    const tag = reader.uint32();
    const key = `#${tag >>> 3}`;
    const value = unknownValue(reader, tag & 7, raw);
    const seen = out[key];
    if (seen === undefined) out[key] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else out[key] = [seen, value];
  }
}

function unknownValue(reader: protobuf.Reader, wireType: number, raw: Uint8Array): unknown {
  switch (wireType) {
    case 0:
      return String(reader.uint64());
    case 1:
      return String(reader.fixed64());
    case 2:
      return Buffer.from(reader.bytes()).toString('base64');
    case 5:
      return reader.fixed32();
    default:
      // A group: its bytes as they came, start and end tags included.
      return Buffer.from(raw).toString('base64');
  }
}
