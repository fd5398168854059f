/**
 * The Kafka listeners' metrics on the broker's registry (docs/metrics.md): Kafka's kafka.network RequestMetrics
 * (requests, errors, total time per API) and socket-server-metrics (connections, bytes) under Gregor's names.
 *
 * Owns: these instruments, one set for all of a broker's Kafka listeners, told apart by the `listener` label.
 * `listener(name)` hands a KafkaServer its view (the `KafkaListenerMetrics` interface), with the per-listener children
 * bound once, so a request costs a few pre-bound `inc()`/`observe()` calls and one labelled lookup per API.
 *
 * Invariants: labels are bounded (listener names from the broker's config, API names from the codec's table or
 * `unknown`, Kafka error names, the close reasons of kafka-listener-metrics.ts). `gregor_kafka_connection_count` goes
 * up once per accepted connection and down once per close, so it is the number of open connections.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { type KafkaListenerMetrics, kafkaConnectionCloseReasons } from '../listeners/kafka/kafka-listener-metrics.js'
import { requestLatencyBucketsSeconds } from './broker-metrics.js'

export interface KafkaMetricsDeps {
  readonly registry: Registry
}

export class KafkaMetrics {
  readonly #requests: Counter<'listener' | 'api'>
  readonly #errors: Counter<'listener' | 'api' | 'error'>
  readonly #latency: Histogram<'listener' | 'api'>
  readonly #connections: Gauge<'listener'>
  readonly #created: Counter<'listener'>
  readonly #closed: Counter<'listener' | 'reason'>
  readonly #bytesIn: Counter<'listener'>
  readonly #bytesOut: Counter<'listener'>
  readonly #authentications: Counter<'listener' | 'mechanism' | 'outcome'>
  readonly #tlsHandshakeFailures: Counter<'listener' | 'reason'>

  constructor (deps: KafkaMetricsDeps) {
    const registers = [deps.registry]
    this.#requests = new Counter({
      name: 'gregor_kafka_requests_total',
      help: 'Kafka-protocol requests received, by listener and API (refused ones included).',
      labelNames: ['listener', 'api'], registers,
    })
    this.#errors = new Counter({
      name: 'gregor_kafka_request_errors_total',
      help: 'Kafka-protocol request errors by listener, API and Kafka error name: each non-zero error code in an answer (top level and per partition), or the one reason a request got no answer.',
      labelNames: ['listener', 'api', 'error'], registers,
    })
    this.#latency = new Histogram({
      name: 'gregor_kafka_request_latency_seconds',
      help: 'Kafka-protocol request time from the frame cut off the socket to its answer handed to the socket (includes acks=all and long-poll waits, and waiting behind earlier answers), by listener and API.',
      labelNames: ['listener', 'api'], buckets: [...requestLatencyBucketsSeconds], registers,
    })
    this.#connections = new Gauge({
      name: 'gregor_kafka_connection_count',
      help: 'Open client connections of a Kafka listener.',
      labelNames: ['listener'], registers,
    })
    this.#created = new Counter({
      name: 'gregor_kafka_connection_creation_total',
      help: 'Client connections a Kafka listener accepted.',
      labelNames: ['listener'], registers,
    })
    this.#closed = new Counter({
      name: 'gregor_kafka_connection_close_total',
      help: 'Client connections of a Kafka listener that closed, by reason (client, protocol_violation, server_error, unanswered_error, listener_stopped).',
      labelNames: ['listener', 'reason'], registers,
    })
    this.#bytesIn = new Counter({
      name: 'gregor_kafka_incoming_byte_total',
      help: 'Bytes read from client connections of a Kafka listener.',
      labelNames: ['listener'], registers,
    })
    this.#bytesOut = new Counter({
      name: 'gregor_kafka_outgoing_byte_total',
      help: 'Bytes of answers written to client connections of a Kafka listener.',
      labelNames: ['listener'], registers,
    })
    this.#authentications = new Counter({
      name: 'gregor_kafka_sasl_authentication_total',
      help: 'Finished SASL exchanges on a Kafka listener, by mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, none) and outcome (success, failure); Kafka\'s successful/failed-authentication-total.',
      labelNames: ['listener', 'mechanism', 'outcome'], registers,
    })
    this.#tlsHandshakeFailures = new Counter({
      name: 'gregor_kafka_tls_handshake_failures_total',
      help: 'Clients refused in the TLS handshake of an SSL or SASL_SSL Kafka listener, by reason (not_tls, certificate, timeout, disconnected, other).',
      labelNames: ['listener', 'reason'], registers,
    })
  }

  /** The metrics of the Kafka listener `listener`; its series appear (at 0) from the first scrape. */
  listener (listener: string): KafkaListenerMetrics {
    const connections = this.#connections.labels(listener)
    const created = this.#created.labels(listener)
    const bytesIn = this.#bytesIn.labels(listener)
    const bytesOut = this.#bytesOut.labels(listener)
    connections.set(0)
    created.inc(0)
    bytesIn.inc(0)
    bytesOut.inc(0)
    const closed = new Map(kafkaConnectionCloseReasons.map((reason) => [reason, this.#closed.labels(listener, reason)] as const))
    for (const child of closed.values()) child.inc(0)
    // Children per API, bound on first use: at most one per ApiKey name plus `unknown`.
    const requests = new Map<string, Counter.Internal>()
    const latency = new Map<string, Histogram.Internal<'listener' | 'api'>>()
    const bound = <T>(children: Map<string, T>, api: string, make: () => T): T => {
      let child = children.get(api)
      if (child === undefined) children.set(api, child = make())
      return child
    }
    return {
      connectionOpened: () => { connections.inc(); created.inc() },
      connectionClosed: (reason) => { connections.dec(); closed.get(reason)?.inc() },
      bytesIn: (bytes) => { bytesIn.inc(bytes) },
      bytesOut: (bytes) => { bytesOut.inc(bytes) },
      requestReceived: (api) => { bound(requests, api, () => this.#requests.labels(listener, api)).inc() },
      requestErrors: (api, errors) => { for (const error of errors) this.#errors.inc({ listener, api, error }) },
      requestCompleted: (api, latencySeconds) => { bound(latency, api, () => this.#latency.labels(listener, api)).observe(latencySeconds) },
      authentication: (mechanism, outcome) => { this.#authentications.inc({ listener, mechanism, outcome }) },
      // Bound on first failure: a plaintext listener never has these series.
      tlsHandshakeFailed: (reason) => { this.#tlsHandshakeFailures.inc({ listener, reason }) },
    }
  }
}
