/** The live cluster page of a broker's admin port (`/cluster`, `/cluster/events`). */
export { ClusterPage, type ClusterPageDeps } from './cluster-page.js'
export { brokerClusterView, type BrokerClusterViewInput } from './broker-cluster-view.js'
export { ClusterEventsStream, type ClusterEventsStreamConfig, defaultClusterEventsStreamConfig } from './cluster-events-stream.js'
export { clusterPageHtml } from './cluster-page-html.js'
