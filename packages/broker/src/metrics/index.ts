/**
 * Prometheus metrics of one broker (docs/metrics.md): the per-broker registry and instruments (broker, groups, Kafka
 * listeners), and the `/metrics` admin route.
 */
export { BrokerMetrics, type BrokerMetricsDeps, type ClientApi, clientApis, leaderElectionsIn, requestLatencyBucketsSeconds } from './broker-metrics.js'
export { metricsRoute } from './metrics-route.js'
export { GroupMetrics, type GroupMetricsDeps, lagSeriesMax } from './group-metrics.js'
export { KafkaMetrics, type KafkaMetricsDeps } from './kafka-metrics.js'
export { authorizationMetrics } from './authorization-metrics.js'
