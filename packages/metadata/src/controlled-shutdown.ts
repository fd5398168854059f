/**
 * Controlled shutdown (KRaft `handleBrokerInControlledShutdown`): before a broker exits on SIGTERM, the controller
 * moves every leadership it holds to another ISR member, so clients see a leader change instead of a timeout.
 *
 * Owns: the records (BrokerShutdownRequested once, then for every partition whose ISR holds the broker: leave the
 * ISR where another member remains; lose leadership to the first acceptable remaining member in assignment order)
 * and the verdict that the broker may exit. Where the broker is the ISR's last member, it stays in the ISR and the
 * partition goes leaderless (KRaft does the same): it was going offline with the process anyway, and keeping it in
 * the ISR lets it lead again, cleanly, once it restarts and catches up. The decision is idempotent: calling it again
 * on every shutdown heartbeat re-derives what is left to do, and reports `shutdownReady` once the committed image
 * shows the broker shutting down and leading nothing.
 *
 * Bounded as fencing is (`boundedBrokerRemoval`): when the broker is in too many ISRs for one batch, its partitions
 * move first and BrokerShutdownRequested comes with the last batch; until then the decision is not `complete` and
 * not `shutdownReady`, and the controller decides again.
 */
import type { NodeId } from '@gregor/common'
import { checkBrokerIncarnation } from './broker-heartbeat.js'
import { boundedBrokerRemoval } from './isr-removal.js'
import type { MetadataImage } from './metadata-image.js'
import type { MetadataRecord } from './metadata-record.js'

export interface ControlledShutdownRequest {
  readonly brokerId: NodeId
  readonly incarnationId: string
}

export interface ControlledShutdownDecision {
  /** One atomic batch to propose, within `batchBytesMax`; empty once there is nothing left to move. */
  readonly records: readonly MetadataRecord[]
  /** False when `records` only moves partitions away: apply them and decide again. */
  readonly complete: boolean
  /** The broker may exit: in `image` it is shutting down and leads no partition (Kafka's `shouldShutDown`). */
  readonly shutdownReady: boolean
}

export function decideControlledShutdown (
  image: MetadataImage,
  request: ControlledShutdownRequest,
  batchBytesMax = Number.POSITIVE_INFINITY,
): ControlledShutdownDecision {
  const broker = checkBrokerIncarnation(image, request.brokerId, request.incarnationId)
  const stateRecords: MetadataRecord[] = broker.shuttingDown
    ? []
    : [{ type: 'BrokerShutdownRequested', brokerId: broker.brokerId, incarnationId: broker.incarnationId }]
  const batch = boundedBrokerRemoval(image, stateRecords, new Set([broker.brokerId]), batchBytesMax)
  const shutdownReady = broker.shuttingDown && image.partitionsLedBy(broker.brokerId).length === 0
  return { ...batch, shutdownReady }
}
