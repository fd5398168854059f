/**
 * The metadata quorum's state machine on every broker: committed raft entries, each one batch of metadata records
 * (`encodeMetadataRecords`), applied in order to the MetadataImage; snapshots are the image's own snapshot format.
 *
 * Owns the image and the fan-out of changes: after each applied batch (or snapshot install) every listener is called
 * synchronously with the new image. Listeners must not await or throw: they schedule their own work (the replica
 * manager and controller react to leadership and ISR changes this way).
 */
import { decodeMetadataRecords, MetadataImage, type MetadataRecord } from '@gregor/metadata'
import type { Logger, RaftIndex } from '@gregor/common'
import type { Entry, Snapshot } from '@gregor/raft'
import type { StateMachine } from '../raft-driver.js'

export type MetadataListener = (image: MetadataImage, records: readonly MetadataRecord[] | 'snapshot') => void

export class MetadataStateMachine implements StateMachine {
  #image = new MetadataImage()
  readonly #listeners: MetadataListener[] = []
  readonly #log: Logger

  constructor (logger: Logger) {
    this.#log = logger.child({ component: 'metadata' })
  }

  get image (): MetadataImage { return this.#image }

  onChange (listener: MetadataListener): void {
    this.#listeners.push(listener)
  }

  apply (entry: Entry): void {
    if (entry.data.length === 0) return
    // A committed entry that does not decode is a bug or corruption: the raft store's CRCs make the latter unlikely,
    // and continuing would let brokers diverge, so it throws and stops the driver.
    const records = decodeMetadataRecords(entry.data)
    this.#image.applyBatch(records, entry.index)
    for (const record of records) this.#log.info({ index: entry.index, record }, 'metadata record applied')
    this.#notify(records)
  }

  snapshot (): Uint8Array {
    return this.#image.snapshot()
  }

  restore (snapshot: Snapshot): void {
    this.#image = MetadataImage.restore(snapshot.data)
    this.#log.info({ index: snapshot.metadata.index }, 'metadata snapshot installed')
    this.#notify('snapshot')
  }

  get appliedIndex (): RaftIndex { return this.#image.appliedIndex }

  #notify (records: readonly MetadataRecord[] | 'snapshot'): void {
    for (const listener of this.#listeners) listener(this.#image, records)
  }
}
