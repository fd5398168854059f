import { createHash, createHmac, pbkdf2Sync } from 'node:crypto'
import { ErrorCode, raftIndex } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { type ScramCredentialUpsertion, decideAlterUserScramCredentials } from './alter-user-scram-credentials.js'
import { decodeMetadataRecord, decodeMetadataRecords, encodeMetadataRecord, encodeMetadataRecords } from './metadata-record-codec.js'
import { MetadataImage } from './metadata-image.js'
import type { MetadataRecord } from './metadata-record.js'

const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64')

function upsertion (name: string, password: string, mechanism = 'SCRAM-SHA-256', iterations = 4096): ScramCredentialUpsertion {
  const digest = mechanism === 'SCRAM-SHA-512' ? 'sha512' : 'sha256'
  const length = digest === 'sha512' ? 64 : 32
  return { name, mechanism, iterations, salt, saltedPassword: pbkdf2Sync(password, salt, iterations, length, digest) }
}

function commit (image: MetadataImage, records: readonly MetadataRecord[]): void {
  image.applyBatch(decodeMetadataRecords(encodeMetadataRecords(records)), raftIndex(image.appliedIndex + 1))
}

describe('decideAlterUserScramCredentials', () => {
  test('an upsertion stores the salt, StoredKey and ServerKey of RFC 7677 and never the password', () => {
    const image = new MetadataImage()
    const decision = decideAlterUserScramCredentials(image, { deletions: [], upsertions: [upsertion('user', 'pencil')] })
    expect(decision.results).toEqual([{ name: 'user' }])
    commit(image, decision.records)
    const stored = image.scramCredential('user', 'SCRAM-SHA-256')
    // RFC 7677's example: SaltedPassword from "pencil", then the key schedule, computed here independently.
    const salted = pbkdf2Sync('pencil', salt, 4096, 32, 'sha256')
    const clientKey = createHmac('sha256', salted).update('Client Key').digest()
    expect(Buffer.from(stored?.storedKey ?? [])).toEqual(createHash('sha256').update(clientKey).digest())
    expect(Buffer.from(stored?.serverKey ?? [])).toEqual(createHmac('sha256', salted).update('Server Key').digest())
    expect(stored?.iterations).toBe(4096)
    expect(JSON.stringify(decision.records)).not.toContain('pencil')
    expect(JSON.stringify(decision.records)).not.toContain(salted.toString('base64'))
    expect(image.scramUsers()).toEqual([{ name: 'user', mechanisms: [{ mechanism: 'SCRAM-SHA-256', iterations: 4096 }] }])
  })

  test('Kafka\'s refusals, per user; other users still change', () => {
    const image = new MetadataImage()
    const decision = decideAlterUserScramCredentials(image, {
      deletions: [{ name: 'ghost', mechanism: 'SCRAM-SHA-256' }, { name: 'twice', mechanism: 'SCRAM-SHA-256' }],
      upsertions: [
        upsertion('', 'p'),
        upsertion('md5', 'p', 'SCRAM-MD5'),
        upsertion('few', 'p', 'SCRAM-SHA-256', 4095),
        { ...upsertion('many', 'p'), iterations: 16385 },
        { ...upsertion('short', 'p'), saltedPassword: Buffer.alloc(5) },
        { ...upsertion('nosalt', 'p'), salt: Buffer.alloc(0) },
        upsertion('twice', 'p'),
        upsertion('ok', 'p', 'SCRAM-SHA-512'),
      ],
    })
    const codes = Object.fromEntries(decision.results.map((result) => [result.name, result.error?.code ?? 'NONE']))
    expect(codes).toEqual({
      ghost: ErrorCode.RESOURCE_NOT_FOUND,
      twice: ErrorCode.DUPLICATE_RESOURCE,
      '': ErrorCode.UNACCEPTABLE_CREDENTIAL,
      md5: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
      few: ErrorCode.UNACCEPTABLE_CREDENTIAL,
      many: ErrorCode.UNACCEPTABLE_CREDENTIAL,
      short: ErrorCode.UNACCEPTABLE_CREDENTIAL,
      nosalt: ErrorCode.UNACCEPTABLE_CREDENTIAL,
      ok: 'NONE',
    })
    expect(decision.records.map((record) => record.type === 'UserScramCredential' ? `${record.name}/${record.mechanism}` : record.type))
      .toEqual(['ok/SCRAM-SHA-512'])
  })

  test('a deletion removes one mechanism; replacing keeps one credential per mechanism', () => {
    const image = new MetadataImage()
    commit(image, decideAlterUserScramCredentials(image, {
      deletions: [], upsertions: [upsertion('alice', 'a'), upsertion('alice', 'a', 'SCRAM-SHA-512')],
    }).records)
    commit(image, decideAlterUserScramCredentials(image, { deletions: [], upsertions: [upsertion('alice', 'b', 'SCRAM-SHA-256', 8192)] }).records)
    expect(image.scramUsers()).toEqual([{
      name: 'alice', mechanisms: [{ mechanism: 'SCRAM-SHA-256', iterations: 8192 }, { mechanism: 'SCRAM-SHA-512', iterations: 4096 }],
    }])
    const deletion = decideAlterUserScramCredentials(image, { deletions: [{ name: 'alice', mechanism: 'SCRAM-SHA-512' }], upsertions: [] })
    expect(deletion.records).toEqual([{ type: 'RemoveUserScramCredential', name: 'alice', mechanism: 'SCRAM-SHA-512' }])
    commit(image, deletion.records)
    expect(image.scramCredential('alice', 'SCRAM-SHA-512')).toBeUndefined()
    expect(image.scramCredential('alice', 'SCRAM-SHA-256')?.iterations).toBe(8192)
  })
})

describe('SCRAM credential records and snapshots', () => {
  const record: MetadataRecord = {
    type: 'UserScramCredential',
    name: 'User One',
    mechanism: 'SCRAM-SHA-256',
    salt: salt.toString('base64'),
    storedKey: Buffer.alloc(32, 1).toString('base64'),
    serverKey: Buffer.alloc(32, 2).toString('base64'),
    iterations: 4096,
  }

  test('round trip through the codec', () => {
    expect(decodeMetadataRecord(encodeMetadataRecord(record))).toEqual(record)
    const removal: MetadataRecord = { type: 'RemoveUserScramCredential', name: 'User One', mechanism: 'SCRAM-SHA-512' }
    expect(decodeMetadataRecord(encodeMetadataRecord(removal))).toEqual(removal)
  })

  test.each([
    ['a password field', { password: 'x' }],
    ['keys of the wrong size', { storedKey: Buffer.alloc(64).toString('base64') }],
    ['too few iterations', { iterations: 1000 }],
    ['an unknown mechanism', { mechanism: 'SCRAM-SHA-1' }],
    ['a control character in the name', { name: 'a\nb' }],
    ['non-base64 salt', { salt: 'not base64!' }],
  ])('the decoder refuses %s', (_what, change) => {
    const bytes = new TextEncoder().encode(JSON.stringify({ v: 1, ...record, ...change }))
    expect(() => decodeMetadataRecord(bytes)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_REQUEST }))
  })

  test('credentials survive a snapshot byte for byte; an image without users keeps its old snapshot bytes', () => {
    const empty = new MetadataImage()
    expect(new TextDecoder().decode(empty.snapshot())).not.toContain('scramCredentials')
    const image = new MetadataImage()
    commit(image, [record, { ...record, mechanism: 'SCRAM-SHA-512', storedKey: Buffer.alloc(64, 3).toString('base64'), serverKey: Buffer.alloc(64, 4).toString('base64') }])
    const restored = MetadataImage.restore(image.snapshot())
    expect(restored.state()).toEqual(image.state())
    expect(restored.snapshot()).toEqual(image.snapshot())
    expect(restored.scramCredential('User One', 'SCRAM-SHA-256')?.serverKey).toEqual(Buffer.alloc(32, 2))
    expect(image.clone().scramUsers()).toEqual(image.scramUsers())
  })
})
