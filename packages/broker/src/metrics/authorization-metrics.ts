/**
 * The authorizer's denial count on the broker's registry (docs/metrics.md, docs/security.md "Authorization"):
 * `gregor_authorization_denied_total{listener,operation,resource_type}`, Kafka's authorizer denial log as a metric.
 * Labels are bounded: listener names, Kafka's operation names, TOPIC | GROUP | CLUSTER; never a principal or resource.
 */
import { Counter, type Registry } from 'prom-client'
import type { AuthorizationMetrics } from '../security/authorizer.js'

export function authorizationMetrics (registry: Registry): AuthorizationMetrics {
  const denied = new Counter({
    name: 'gregor_authorization_denied_total',
    help: 'Requests (or resources of a request) the authorizer refused, by listener, operation and resource type (TOPIC, GROUP, CLUSTER); listings that silently leave out what the caller may not see are not counted.',
    labelNames: ['listener', 'operation', 'resource_type'], registers: [registry],
  })
  return { denied: (listener, operation, resourceType) => { denied.inc({ listener, operation, resource_type: resourceType }) } }
}
