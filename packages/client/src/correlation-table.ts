/**
 * The requests of one ClientService.ProduceStream as the client sees them: which correlation ids are in flight (sent
 * or about to be, not yet answered) and which requests wait for a free slot. Pure; one owner (the stream).
 *
 * Invariants:
 * - At most `inFlightMax` ids in flight, the broker's limit (PRODUCE_STREAM_IN_FLIGHT_MAX): the broker counts a
 *   request until it answers it, so an id stays in flight until its answer comes or the stream ends, even when its
 *   caller gave up on it (`cancel` settles the caller at once, the slot is freed by the answer).
 * - Waiting requests get their slot in submission order, so the send order is the submission order.
 * - At most `waitingMax` requests wait; `submit` refuses more (the caller fails that request).
 * - Ids are uint32, counting up and wrapping, never one in flight.
 */

export interface CorrelationLimits {
  readonly inFlightMax: number
  readonly waitingMax: number
}

export type Submitted =
  | { readonly outcome: 'send', readonly id: number }
  | { readonly outcome: 'wait' }
  | { readonly outcome: 'refused' }

const ID_MODULUS = 2 ** 32

export class CorrelationTable<Entry> {
  readonly #limits: CorrelationLimits
  /** In flight, by id; undefined once the caller cancelled (the broker still counts it). */
  readonly #inFlight = new Map<number, Entry | undefined>()
  #waiting: Entry[] = []
  #nextId = 0

  /** `firstId`: where numbering starts (tests start near the wrap). */
  constructor (limits: CorrelationLimits, firstId = 0) {
    this.#limits = limits
    this.#nextId = firstId
  }

  get inFlight (): number { return this.#inFlight.size }
  get waiting (): number { return this.#waiting.length }

  /** Takes a request: send it now with this id, or it waits for `answered` to hand it a slot, or it is refused. */
  submit (entry: Entry): Submitted {
    if (this.#inFlight.size < this.#limits.inFlightMax && this.#waiting.length === 0) return { outcome: 'send', id: this.#assign(entry) }
    if (this.#waiting.length >= this.#limits.waitingMax) return { outcome: 'refused' }
    this.#waiting.push(entry)
    return { outcome: 'wait' }
  }

  /**
   * The answer to `id` came: its entry (undefined if unknown or cancelled), and the waiting requests that now have a
   * slot, with their ids, to be sent in this order.
   */
  answered (id: number): { readonly entry: Entry | undefined, readonly send: Array<{ readonly id: number, readonly entry: Entry }> } {
    const entry = this.#inFlight.get(id)
    this.#inFlight.delete(id)
    return { entry, send: this.#promote() }
  }

  /**
   * The caller gave up on `entry`: a waiting one is dropped; one in flight keeps its slot until its answer (see the
   * header) but is no longer returned by `answered` or `clear`. True if it was found.
   */
  cancel (entry: Entry): boolean {
    const index = this.#waiting.indexOf(entry)
    if (index >= 0) {
      this.#waiting.splice(index, 1)
      return true
    }
    for (const [id, candidate] of this.#inFlight) {
      if (candidate === entry) {
        this.#inFlight.set(id, undefined)
        return true
      }
    }
    return false
  }

  /** Whether `id` is in flight and its caller still waits for it. */
  live (id: number): boolean {
    return this.#inFlight.get(id) !== undefined
  }

  /** The stream ended: every entry still waiting for an answer (in flight first, then waiting), and the table emptied. */
  clear (): Entry[] {
    const entries = [...this.#inFlight.values()].filter((entry): entry is Entry => entry !== undefined)
    entries.push(...this.#waiting)
    this.#inFlight.clear()
    this.#waiting = []
    return entries
  }

  #promote (): Array<{ readonly id: number, readonly entry: Entry }> {
    const send: Array<{ id: number, entry: Entry }> = []
    while (this.#inFlight.size < this.#limits.inFlightMax && this.#waiting.length > 0) {
      const entry = this.#waiting.shift() as Entry
      send.push({ id: this.#assign(entry), entry })
    }
    return send
  }

  #assign (entry: Entry): number {
    let id = this.#nextId
    while (this.#inFlight.has(id)) id = (id + 1) % ID_MODULUS
    this.#nextId = (id + 1) % ID_MODULUS
    this.#inFlight.set(id, entry)
    return id
  }
}
