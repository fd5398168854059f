/**
 * Broker registration and unregistration (KRaft `ClusterControlManager.registerBroker` / `unregisterBroker`).
 *
 * Owns: the rules for (re)joining. A registration starts fenced. Retrying with the same incarnation and details
 * changes nothing. A new incarnation replaces the old one only when the old one cannot still be running: fenced,
 * shutting down, expired, or with its connection to the controller lost; otherwise two processes share an id and
 * the newcomer is refused (Kafka DUPLICATE_BROKER_REGISTRATION), so they cannot take turns evicting each other. When
 * the replaced incarnation was unfenced, its ISR memberships and leaderships go in the same batch: a restarted
 * process must rejoin ISRs by catching up, not inherit them. When those are too many for one batch, they move first
 * and the registration comes with the last batch (`boundedBrokerRemoval`; `complete` is false until then).
 * A registration whose log directory id differs from the previous registration's (KIP-858: the disk was replaced or
 * wiped) takes the broker out of every ISR, even those it is the last member of (issue 10, defect 9): an empty
 * replica must never be elected as if it held the acknowledged records. Such a partition stays offline.
 * Unregistering (decommissioning) is allowed for a fenced broker only; it stays in the ISRs it was the last member
 * of, so those partitions can still come back cleanly if the id ever returns.
 */
import { ErrorCode, GregorError, type NodeId } from '@gregor/common'
import { type BrokerLivenessInput, brokerLiveness, heartbeatOf } from './broker-heartbeat.js'
import { boundedBrokerRemoval } from './isr-removal.js'
import { withContext } from './json-reader.js'
import type { BrokerRegistration, MetadataImage } from './metadata-image.js'
import { readMetadataRecord } from './metadata-record-codec.js'
import type { BrokerListener, MetadataRecord, RegisterBrokerRecord } from './metadata-record.js'

export interface BrokerRegistrationRequest {
  readonly brokerId: NodeId
  /** Made fresh by each broker process at start. */
  readonly incarnationId: string
  readonly listeners: readonly BrokerListener[]
  readonly rack?: string
  /** The id in the broker's log directory (KIP-858); absent when the broker does not report one. */
  readonly logDirId?: string
}

export interface BrokerRegistrationDecision {
  readonly records: readonly MetadataRecord[]
  /** False when `records` only moves the old incarnation's partitions away: apply them and decide again. */
  readonly complete: boolean
  /** The incarnation this registration replaces, if any (the broker restarted). */
  readonly replacedIncarnationId?: string
}

const sameRegistration = (broker: BrokerRegistration, record: RegisterBrokerRecord): boolean =>
  broker.rack === record.rack &&
  broker.listeners.length === record.listeners.length &&
  broker.listeners.every((l, i) => {
    const other = record.listeners[i]
    return other !== undefined && l.name === other.name && l.host === other.host && l.port === other.port
  })

function mayBeRunning (broker: BrokerRegistration, input: BrokerLivenessInput): boolean {
  return !broker.fenced && !broker.shuttingDown && !brokerLiveness(broker, input).expired &&
    heartbeatOf(broker, input.heartbeats)?.connectionLostMs === undefined
}

export function decideBrokerRegistration (
  image: MetadataImage,
  request: BrokerRegistrationRequest,
  input: BrokerLivenessInput,
  batchBytesMax = Number.POSITIVE_INFINITY,
): BrokerRegistrationDecision {
  const record = withContext('invalid broker registration', () =>
    readMetadataRecord({ type: 'RegisterBroker', ...request }, 'registration')) as RegisterBrokerRecord
  const existing = image.broker(record.brokerId)
  if (existing?.incarnationId === record.incarnationId) {
    if (sameRegistration(existing, record)) return { records: [], complete: true }
    throw new GregorError(ErrorCode.INVALID_REQUEST,
      `broker ${record.brokerId} incarnation ${record.incarnationId} is already registered with other listeners or rack`)
  }
  if (existing !== undefined && mayBeRunning(existing, input)) {
    throw new GregorError(ErrorCode.INVALID_REQUEST,
      `broker ${record.brokerId} is still registered by live incarnation ${existing.incarnationId}`,
      { retriable: true, details: { brokerId: record.brokerId, kafkaCode: 'DUPLICATE_BROKER_REGISTRATION' } })
  }
  const dataLost = existing?.logDirId !== undefined && record.logDirId !== undefined && existing.logDirId !== record.logDirId
  const removed = new Set(existing !== undefined && (!existing.fenced || dataLost) ? [record.brokerId] : [])
  const batch = boundedBrokerRemoval(image, [record], removed, batchBytesMax, { dataLost })
  return existing === undefined ? batch : { ...batch, replacedIncarnationId: existing.incarnationId }
}

/** Remove a fenced broker for good. */
export function decideBrokerUnregistration (image: MetadataImage, request: { readonly brokerId: NodeId }): BrokerRegistrationDecision {
  const broker = image.broker(request.brokerId)
  if (broker === undefined) {
    throw new GregorError(ErrorCode.INVALID_REQUEST, `broker ${request.brokerId} is not registered`,
      { details: { brokerId: request.brokerId, kafkaCode: 'BROKER_ID_NOT_REGISTERED' } })
  }
  if (!broker.fenced) {
    throw new GregorError(ErrorCode.INVALID_REQUEST,
      `broker ${request.brokerId} is unfenced; stop it and let it be fenced before unregistering it`)
  }
  return { records: [{ type: 'UnregisterBroker', brokerId: broker.brokerId, incarnationId: broker.incarnationId }], complete: true }
}
