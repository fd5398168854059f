/**
 * The state machine of a bare metadata-quorum voter: the ordered list of applied payloads and a running digest.
 *
 * It exists so the quorum can be run and checked on its own (issue 2) before the metadata image replaces it: two
 * voters that applied the same sequence have the same count and digest. Raft no-op entries (empty data) are skipped.
 * Snapshot format: JSON array of base64 payloads (small; metadata-sized).
 */
import { createHash } from 'node:crypto'
import type { Entry, Snapshot } from '@gregor/raft'
import type { StateMachine } from './raft-driver.js'

export class AppliedLog implements StateMachine {
  #payloads: Uint8Array[] = []
  #digest = ''

  apply (entry: Entry): void {
    if (entry.data.length === 0) return
    this.#payloads.push(entry.data)
    this.#digest = chain(this.#digest, entry.data)
  }

  snapshot (): Uint8Array {
    return Buffer.from(JSON.stringify(this.#payloads.map((payload) => Buffer.from(payload).toString('base64'))))
  }

  restore (snapshot: Snapshot): void {
    const encoded = JSON.parse(Buffer.from(snapshot.data).toString()) as string[]
    this.#payloads = encoded.map((payload) => Buffer.from(payload, 'base64'))
    this.#digest = this.#payloads.reduce(chain, '')
  }

  get count (): number { return this.#payloads.length }
  get digest (): string { return this.#digest }

  read (fromPosition: number, entriesMax: number): Uint8Array[] {
    return this.#payloads.slice(fromPosition, fromPosition + entriesMax)
  }
}

function chain (digest: string, payload: Uint8Array): string {
  return createHash('sha256').update(digest).update(payload).digest('hex').slice(0, 16)
}
