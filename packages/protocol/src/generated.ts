/**
 * The one import point of the protobufjs static code generated from proto/ (see scripts/gen-proto.mjs).
 * Everything else in this package imports the wire types from here, never from the generated file directly.
 *
 * 64-bit fields decode as JavaScript numbers, not Long objects: the types say `number` (--force-number) and the
 * runtime is configured to match by protobuf-runtime.ts, which must load first. Values beyond 2^53 come out imprecise, so every decoder of a 64-bit counter
 * checks `Number.isSafeInteger` and rejects the message.
 */
import './protobuf-runtime.js'
import { gregor } from '../generated/proto.js'

export const wire = gregor
export type { gregor } from '../generated/proto.js'
