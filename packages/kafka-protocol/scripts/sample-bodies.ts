/**
 * Test support: builds request and response bodies for any API and version straight from the definitions, so the
 * round-trip tests cover every field of every message without a hand-written sample per version.
 *
 * Two variants: `full` gives every field present in the version a value unlike its default (arrays of two, tagged
 * fields set, nullables filled, one record batch big enough to travel as its own chunk); `sparse` gives nullables
 * null, arrays empty and tagged fields their defaults. A field absent from the version gets its default, which is
 * what the decoder must produce for it. Defaults are worked out here independently of the generator's expressions,
 * so a generator that fills a different default fails the round trip.
 */
import { type FieldDefinition, inRange, type VersionRange } from './definition-parser.js'

export type SampleVariant = 'full' | 'sparse'

const ZERO_UUID = '00000000-0000-0000-0000-000000000000'

function defaultValue (field: FieldDefinition): unknown {
  const literal = field.defaultLiteral
  if (literal === 'null') return null
  if (field.isArray) return []
  if (field.isStruct) return null
  switch (field.type) {
    case 'bool': return literal === 'true'
    case 'string': return literal ?? ''
    case 'uuid': return ZERO_UUID
    case 'bytes': return Buffer.alloc(0)
    case 'records': return null
    default: return literal === null ? 0 : Number(literal)
  }
}

class SampleBuilder {
  #counter = 0
  #bigRecordsGiven = false
  readonly #version: number
  readonly #flexible: boolean
  readonly #variant: SampleVariant

  constructor (version: number, flexible: boolean, variant: SampleVariant) {
    this.#version = version
    this.#flexible = flexible
    this.#variant = variant
  }

  struct (fields: readonly FieldDefinition[]): Record<string, unknown> {
    const value: Record<string, unknown> = {}
    for (const field of fields) value[field.name] = this.#field(field)
    return value
  }

  #nullableNow (field: FieldDefinition): boolean {
    return field.nullableVersions !== null && inRange(field.nullableVersions, this.#version)
  }

  #field (field: FieldDefinition): unknown {
    if (!inRange(field.versions, this.#version)) return defaultValue(field)
    if (field.tag !== null && (!this.#flexible || this.#variant === 'sparse')) return defaultValue(field)
    if (this.#variant === 'sparse' && this.#nullableNow(field)) return null
    if (field.isArray) {
      if (this.#variant === 'sparse') return []
      return [this.#element(field), this.#element(field)]
    }
    return this.#element(field)
  }

  #element (field: FieldDefinition): unknown {
    const k = ++this.#counter
    if (field.isStruct) return this.struct(field.fields)
    switch (field.type) {
      case 'bool': return field.defaultLiteral !== 'true'
      case 'int8': return k % 100 + 1
      case 'int16': return 1000 + k
      case 'uint16': return 60000 + k
      case 'int32': return 100_000 + k
      case 'uint32': return 3_000_000_000 + k
      // Above 2^32, so a writer that drops the high word fails; below 2^53.
      case 'int64': return 2 ** 40 + k
      case 'float64': return k + 0.5
      case 'string': return `${field.name}-${k}-é`
      case 'uuid': return `${k.toString(16).padStart(8, '0')}-0000-4000-8000-${k.toString(16).padStart(12, '0')}`
      case 'bytes': return Buffer.from([k & 0xff, 1, 2, 3])
      case 'records': {
        const big = !this.#bigRecordsGiven
        this.#bigRecordsGiven = true
        return Buffer.alloc(big ? 3000 : 70, k & 0xff)
      }
      default: throw new Error(`no sample for ${field.type}`)
    }
  }
}

export function sampleBody (
  fields: readonly FieldDefinition[], version: number, flexibleFrom: number | null, variant: SampleVariant,
): Record<string, unknown> {
  return new SampleBuilder(version, flexibleFrom !== null && version >= flexibleFrom, variant).struct(fields)
}

/** Versions worth a round trip: every supported version (they are few and cheap). */
export function versionsOf (range: VersionRange): number[] {
  return Array.from({ length: range.max - range.min + 1 }, (_, index) => range.min + index)
}
