/**
 * A decision's scratch state: the image as it will be once the decision's records are applied.
 *
 * Owns: the rule that a decision producing several dependent records (fence a broker, then elect new leaders for
 * what it led) builds each record against the image with the earlier ones already applied, exactly as every broker
 * will apply them. Appending a record applies it to a private copy, so the image's assertions run on the controller
 * before anything is proposed: a decision bug crashes the controller instead of committing a record that would crash
 * every broker. The base image is never touched; the copy is made on the first append.
 */
import type { MetadataImage } from './metadata-image.js'
import type { MetadataRecord } from './metadata-record.js'

export class MetadataDraft {
  readonly #base: MetadataImage
  #scratch: MetadataImage | undefined
  readonly #records: MetadataRecord[] = []

  constructor (base: MetadataImage) {
    this.#base = base
  }

  /** The base image with every appended record applied. */
  get image (): MetadataImage {
    return this.#scratch ?? this.#base
  }

  /** The records appended so far, in order: one atomic batch to propose. */
  get records (): readonly MetadataRecord[] {
    return Object.freeze([...this.#records])
  }

  append (record: MetadataRecord): void {
    this.#scratch ??= this.#base.clone()
    this.#scratch.apply(record, this.#scratch.appliedIndex)
    this.#records.push(record)
  }
}
