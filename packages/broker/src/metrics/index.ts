/**
 * Prometheus metrics of one broker (docs/metrics.md): the per-broker registry and instruments, and the `/metrics`
 * admin route.
 */
export { BrokerMetrics, type BrokerMetricsDeps, type ClientApi, clientApis, leaderElectionsIn, requestLatencyBucketsSeconds } from './broker-metrics.js'
export { metricsRoute } from './metrics-route.js'
export { GroupMetrics, type GroupMetricsDeps, lagSeriesMax } from './group-metrics.js'
