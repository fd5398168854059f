/**
 * The gRPC client listeners' login counter (docs/metrics.md): `gregor_grpc_sasl_authentication_total{listener,
 * mechanism,outcome}`, the gRPC twin of the Kafka listeners' `gregor_kafka_sasl_authentication_total` (Kafka's
 * successful/failed-authentication-total). One counter for all of a broker's gRPC listeners; labels are bounded
 * (listener names from the config, the three mechanisms or `none`, success or failure).
 */
import { Counter, type Registry } from 'prom-client'
import type { AuthenticationObserver } from '../listeners/grpc/grpc-authentication.js'

export class GrpcAuthenticationMetrics {
  readonly #authentications: Counter<'listener' | 'mechanism' | 'outcome'>

  constructor (registry: Registry) {
    this.#authentications = new Counter({
      name: 'gregor_grpc_sasl_authentication_total',
      help: 'Finished SCRAM logins (Authenticate) on a gRPC client listener, by mechanism (SCRAM-SHA-256, SCRAM-SHA-512, none for an unsupported one) and outcome (success, failure).',
      labelNames: ['listener', 'mechanism', 'outcome'], registers: [registry],
    })
  }

  /** The observer of listener `listener`'s logins. */
  listener (listener: string): AuthenticationObserver {
    return (mechanism, outcome) => { this.#authentications.inc({ listener, mechanism, outcome }) }
  }
}
