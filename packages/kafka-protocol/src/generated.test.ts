/**
 * The checked-in `src/generated/` is exactly what the generator makes of `scripts/definitions/`, and the definition
 * parser refuses definitions the generator could not honour.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { generate } from '../scripts/codegen.js'
import { parseDefinition } from '../scripts/definition-parser.js'
import { generatedDirectory, readDefinitions } from '../scripts/generate.js'

describe('generated code', () => {
  test('regenerating from the definitions yields the checked-in files', () => {
    const files = generate(readDefinitions())
    const directory = generatedDirectory()
    expect(readdirSync(directory).sort()).toEqual([...files.keys()].sort())
    for (const [name, text] of files) {
      // Compared one by one so a failure names the stale file.
      expect(readFileSync(`${directory}${name}`, 'utf8'), `src/generated/${name} is stale: run npm run generate -w @gregor/kafka-protocol`).toBe(text)
    }
  })

  test('a changed definition changes the output', () => {
    const [api] = readDefinitions().filter((candidate) => candidate.name === 'Heartbeat')
    const changed = parseDefinition('heartbeat', 'api 12 Heartbeat versions 0-4 flexible 4+\nrequest\n  groupId: string\nresponse\n  errorCode: int16\n')
    expect(generate([changed]).get('heartbeat.ts')).not.toBe(generate([api!]).get('heartbeat.ts'))
  })
})

describe('definition parser', () => {
  const parse = (body: string): unknown => parseDefinition('test', `api 99 Test versions 0-4 flexible 3+\n${body}`)

  test('reads ranges relative to the parent and tags', () => {
    const api = parseDefinition('test', [
      'api 99 Test versions 0-4 flexible 3+', 'request', '  items: []Item v1+ nullable v2+', '    a: int32 v2-3', '    b: string v3+ tag 0 default null',
      'response', '  errorCode: int16',
    ].join('\n'))
    const items = api.request.fields[0]!
    expect(items).toMatchObject({ isArray: true, isStruct: true, versions: { min: 1, max: 4 }, nullableVersions: { min: 2, max: 4 } })
    expect(items.fields[0]!.versions).toEqual({ min: 2, max: 3 })
    expect(items.fields[1]).toMatchObject({ tag: 0, defaultLiteral: 'null', versions: { min: 3, max: 4 } })
  })

  test('refuses what it cannot honour', () => {
    expect(() => parse('request\n  a: int32 v5+\nresponse\n  b: int16\n')).toThrow(/outside/)
    expect(() => parse('request\n  a: int32 tag 0\nresponse\n  b: int16\n')).toThrow(/flexible/)
    expect(() => parse('request\n  a: int32 v3+ tag 0\n  b: int32 v3+ tag 0\nresponse\n  c: int16\n')).toThrow(/duplicate tag/)
    expect(() => parse('request\n  a: int32 nullable\nresponse\n  b: int16\n')).toThrow(/cannot be nullable/)
    expect(() => parse('request\n  a: varchar\nresponse\n  b: int16\n')).toThrow(/unknown type/)
    expect(() => parse('request\n  a: Thing\nresponse\n  b: int16\n')).toThrow(/no fields/)
    expect(() => parse('response\n  b: int16\n')).toThrow(/expected 'request'/)
  })
})
