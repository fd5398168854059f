/**
 * Timing defaults of the controller and of every broker's lifecycle client.
 *
 * Owns: `defaultControllerConfig` (the MetadataConfig the controller runs with unless the CLI overrides it) and
 * `defaultBrokerLifecycleConfig`. Gregor wants a killed partition leader replaced within half a second (issue 12):
 * its heartbeat stream breaks at once (the kernel closes a dead process's sockets), and the controller fences it
 * `brokerConnectionLossGraceMs` (150 ms) later. A broken stream is strong evidence; the grace is only there for a
 * live broker whose stream broke for another reason: it reopens one and heartbeats within its 20 ms reconnect
 * backoff and a round trip, well inside the grace. A silent broker (paused, overloaded, partitioned: the stream
 * still open) is weak evidence and gets the whole `brokerSessionTimeoutMs` (3 s, fifteen missed heartbeats).
 */
import { type MetadataConfig, defaultMetadataConfig, validateMetadataConfig } from '@gregor/metadata'

export const defaultControllerConfig: MetadataConfig = validateMetadataConfig({
  ...defaultMetadataConfig,
  brokerHeartbeatIntervalMs: 200,
  brokerSessionTimeoutMs: 3000,
  brokerConnectionLossGraceMs: 150,
})

export interface BrokerLifecycleConfig {
  /** How often the broker heartbeats the controller; matches `brokerHeartbeatIntervalMs`. */
  readonly heartbeatIntervalMs: number
  /** Backoff between failed registrations or reconnects: doubles from min to max, reset by success. */
  readonly retryBackoffMsMin: number
  readonly retryBackoffMsMax: number
  /** Deadline of one RegisterBroker call. */
  readonly registerDeadlineMs: number
  /** Deadline of a forwarded call (AlterPartition, CreateTopics, DeleteTopics), retries included. */
  readonly requestDeadlineMs: number
  /** Largest message on controller channels. */
  readonly messageBytesMax: number
}

export const defaultBrokerLifecycleConfig: BrokerLifecycleConfig = Object.freeze({
  heartbeatIntervalMs: defaultControllerConfig.brokerHeartbeatIntervalMs,
  retryBackoffMsMin: 20,
  retryBackoffMsMax: 500,
  registerDeadlineMs: 2000,
  requestDeadlineMs: 10_000,
  messageBytesMax: 16 * 1024 * 1024,
})
