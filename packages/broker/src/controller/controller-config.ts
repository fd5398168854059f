/**
 * Timing defaults of the controller and of every broker's lifecycle client.
 *
 * Owns: `defaultControllerConfig` (the MetadataConfig the controller runs with unless the CLI overrides it) and
 * `defaultBrokerLifecycleConfig`. Gregor wants a killed broker fenced in well under a second: its heartbeat stream
 * breaks at once, and the controller fences it `brokerConnectionLossGraceMs` (400 ms) later. A silent broker (paused,
 * partitioned, stream still open) is fenced at `brokerSessionTimeoutMs` (3 s, fifteen missed heartbeats).
 */
import { type MetadataConfig, defaultMetadataConfig, validateMetadataConfig } from '@gregor/metadata'

export const defaultControllerConfig: MetadataConfig = validateMetadataConfig({
  ...defaultMetadataConfig,
  brokerHeartbeatIntervalMs: 200,
  brokerSessionTimeoutMs: 3000,
  brokerConnectionLossGraceMs: 400,
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
