/**
 * Reads Gregor's Kafka message definitions (`definitions/*.def`) into a typed model for the code generator.
 *
 * Format (one API per file; `#` starts a comment line):
 *
 *   api <key> <Name> versions <min>-<max> flexible <first>+|none
 *   request
 *     <field>: <type> [v<range>] [nullable [v<range>]] [tag <n>] [default <literal>]
 *       <nested field of a struct or struct array, indented two more spaces>
 *   response
 *     ...
 *
 * `versions` is the range Gregor supports (decodes, encodes and advertises); every field range is already clipped to
 * it. `flexible` is Kafka's first flexible version, which may lie above our maximum: request header versions of
 * unsupported versions still depend on it. A field's range defaults to its parent's; `v3+` means 3 up to the
 * parent's last version, `v1-4` and `v2` are inclusive. `nullable` without a range covers the field's whole range.
 * A `tag` makes the field a tagged field in every (flexible) version it exists in. Types: bool, int8, int16, uint16,
 * int32, uint32, int64, float64, string, bytes, records, uuid, `[]<type>` for arrays, and a capitalised name for a
 * struct, whose fields follow indented.
 *
 * Invariants (checked here, so the generator can rely on them): field ranges lie inside their parent's, tags are
 * unique per struct and only in flexible versions, struct names are unique per message.
 */

export interface VersionRange {
  readonly min: number
  readonly max: number
}

export type PrimitiveType = 'bool' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'float64' | 'string'
  | 'bytes' | 'records' | 'uuid'

export const primitiveTypes: ReadonlySet<string> = new Set<PrimitiveType>([
  'bool', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float64', 'string', 'bytes', 'records', 'uuid',
])

export interface FieldDefinition {
  /** camelCase property name. */
  readonly name: string
  /** A primitive type, or the struct's name (then `fields` holds its fields). */
  readonly type: string
  readonly isArray: boolean
  readonly isStruct: boolean
  readonly versions: VersionRange
  readonly nullableVersions: VersionRange | null
  readonly tag: number | null
  /** The literal from the definition (`-1`, `true`, `null`), or null when the type's zero value applies. */
  readonly defaultLiteral: string | null
  readonly fields: readonly FieldDefinition[]
}

export interface MessageDefinition {
  /** e.g. `FetchRequest`. */
  readonly name: string
  readonly kind: 'request' | 'response'
  readonly fields: readonly FieldDefinition[]
}

export interface ApiDefinition {
  readonly key: number
  /** e.g. `Fetch`. */
  readonly name: string
  /** The definition file's base name, e.g. `list-offsets`. */
  readonly fileName: string
  readonly versions: VersionRange
  /** Kafka's first flexible version (may exceed `versions.max`), or null when no version is flexible. */
  readonly flexibleFrom: number | null
  readonly request: MessageDefinition
  readonly response: MessageDefinition
}

export function inRange (range: VersionRange, version: number): boolean {
  return version >= range.min && version <= range.max
}

export function isFlexible (api: ApiDefinition, version: number): boolean {
  return api.flexibleFrom !== null && version >= api.flexibleFrom
}

interface Line {
  readonly number: number
  readonly indent: number
  readonly text: string
}

class DefinitionError extends Error {
  constructor (fileName: string, line: number, message: string) {
    super(`${fileName}.def:${line}: ${message}`)
  }
}

function parseRange (text: string, parent: VersionRange, fail: (message: string) => never): VersionRange {
  const match = /^v(\d+)(\+|-(\d+))?$/.exec(text)
  if (match === null) fail(`bad version range '${text}'`)
  const min = Number(match[1])
  const max = match[2] === '+' ? parent.max : match[3] !== undefined ? Number(match[3]) : min
  if (min > max || min < parent.min || max > parent.max) fail(`range ${text} outside ${parent.min}-${parent.max}`)
  return { min, max }
}

function parseFields (
  lines: readonly Line[], start: number, indent: number, parent: VersionRange, api: { fileName: string, flexibleFrom: number | null },
): { fields: FieldDefinition[], next: number } {
  const fields: FieldDefinition[] = []
  let index = start
  while (index < lines.length && lines[index]!.indent === indent) {
    const line = lines[index]!
    const fail = (message: string): never => { throw new DefinitionError(api.fileName, line.number, message) }
    const match = /^([a-z][A-Za-z0-9]*): (\S+)(.*)$/.exec(line.text)
    if (match === null) fail(`bad field line '${line.text}'`)
    const [, name, typeText, restText] = match as unknown as [string, string, string, string]
    const isArray = typeText.startsWith('[]')
    const type = isArray ? typeText.slice(2) : typeText
    const isStruct = /^[A-Z]/.test(type)
    if (!isStruct && !primitiveTypes.has(type)) fail(`unknown type '${type}'`)
    const words = restText.trim() === '' ? [] : restText.trim().split(/\s+/)
    let versions = parent
    let nullableVersions: VersionRange | null = null
    let tag: number | null = null
    let defaultLiteral: string | null = null
    let word = 0
    if (words[word]?.startsWith('v') === true) versions = parseRange(words[word++]!, parent, fail)
    while (word < words.length) {
      const keyword = words[word++]
      if (keyword === 'nullable') {
        nullableVersions = words[word]?.startsWith('v') === true ? parseRange(words[word++]!, versions, fail) : versions
      } else if (keyword === 'tag') {
        tag = Number(words[word++])
        if (!Number.isInteger(tag) || tag < 0) fail('bad tag')
        if (api.flexibleFrom === null || versions.min < api.flexibleFrom) fail('tagged field outside flexible versions')
      } else if (keyword === 'default') {
        defaultLiteral = words[word++] ?? fail('default without a value')
      } else fail(`unknown keyword '${keyword}'`)
    }
    if (nullableVersions !== null && !isArray && (type === 'bool' || /int|float|uuid/.test(type))) fail('a number, bool or uuid cannot be nullable')
    index++
    let nested: FieldDefinition[] = []
    if (isStruct) {
      const result = parseFields(lines, index, indent + 2, versions, api)
      if (result.fields.length === 0) fail(`struct ${type} has no fields`)
      nested = result.fields
      index = result.next
    }
    fields.push({ name, type, isArray, isStruct, versions, nullableVersions, tag, defaultLiteral, fields: nested })
  }
  const tags = fields.flatMap((field) => field.tag === null ? [] : [field.tag])
  if (new Set(tags).size !== tags.length) throw new DefinitionError(api.fileName, lines[start]?.number ?? 0, 'duplicate tag')
  return { fields, next: index }
}

/** Parses one definition file's text. */
export function parseDefinition (fileName: string, text: string): ApiDefinition {
  const lines: Line[] = []
  text.split('\n').forEach((raw, index) => {
    if (raw.trim() === '' || raw.trim().startsWith('#')) return
    const indent = raw.length - raw.trimStart().length
    if (indent % 2 !== 0 || raw.includes('\t')) throw new DefinitionError(fileName, index + 1, 'indent with two spaces')
    lines.push({ number: index + 1, indent, text: raw.trim() })
  })
  const header = /^api (\d+) ([A-Z][A-Za-z]+) versions (\d+)-(\d+) flexible (?:(\d+)\+|none)$/.exec(lines[0]?.text ?? '')
  if (header === null) throw new DefinitionError(fileName, lines[0]?.number ?? 1, 'expected an api line')
  const name = header[2]!
  const versions = { min: Number(header[3]), max: Number(header[4]) }
  const flexibleFrom = header[5] === undefined ? null : Number(header[5])
  const messages: MessageDefinition[] = []
  let index = 1
  for (const kind of ['request', 'response'] as const) {
    const line = lines[index]
    if (line?.text !== kind || line.indent !== 0) throw new DefinitionError(fileName, line?.number ?? 0, `expected '${kind}'`)
    const result = parseFields(lines, index + 1, 2, versions, { fileName, flexibleFrom })
    messages.push({ name: `${name}${kind === 'request' ? 'Request' : 'Response'}`, kind, fields: result.fields })
    index = result.next
  }
  if (index !== lines.length) throw new DefinitionError(fileName, lines[index]!.number, 'unexpected line')
  return { key: Number(header[1]), name, fileName, versions, flexibleFrom, request: messages[0]!, response: messages[1]! }
}
