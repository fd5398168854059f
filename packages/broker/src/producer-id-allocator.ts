/**
 * Producer ids for idempotent producers (Kafka's InitProducerId), handed out by any broker without a round trip to
 * the controller.
 *
 * Owns: the id counter of this broker incarnation. An id is `brokerEpoch * 2^20 + n`: the broker epoch is the Raft
 * index of this incarnation's RegisterBroker record, which no other incarnation of any broker shares, so ids are
 * unique cluster-wide and forever without coordination (Kafka before KIP-730 reserved id blocks in ZooKeeper for
 * the same reason). Ids stay below 2^53: broker epochs up to 2^33 Raft entries. An incarnation hands out at most
 * 2^20 ids; beyond that, or before its registration is applied, the answer is a retriable error.
 */
import { ErrorCode, GregorError } from '@gregor/common'

export const producerIdsPerIncarnation = 2 ** 20
const brokerEpochMax = Math.floor(Number.MAX_SAFE_INTEGER / producerIdsPerIncarnation)

export class ProducerIdAllocator {
  readonly #brokerEpoch: () => number
  #next = 0

  /** `brokerEpoch`: this incarnation's, from the applied image (0 while its registration is not applied yet). */
  constructor (brokerEpoch: () => number) {
    this.#brokerEpoch = brokerEpoch
  }

  allocate (): { producerId: number; producerEpoch: number } {
    const epoch = this.#brokerEpoch()
    if (epoch <= 0) {
      throw new GregorError(ErrorCode.LEADER_NOT_AVAILABLE, 'this broker is not registered yet; retry', { retriable: true })
    }
    if (epoch > brokerEpochMax || this.#next >= producerIdsPerIncarnation) {
      throw new GregorError(ErrorCode.UNKNOWN_SERVER_ERROR, 'this broker incarnation has no producer ids left; ask another broker',
        { retriable: true, details: { brokerEpoch: epoch } })
    }
    return { producerId: epoch * producerIdsPerIncarnation + this.#next++, producerEpoch: 0 }
  }
}
