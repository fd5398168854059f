/** The live cluster page of a broker's admin port (`/cluster`, `/cluster/events`). */
export { ClusterPage, type ClusterPageDeps } from './cluster-page.js'
export { brokerClusterView, type BrokerClusterViewInput } from './broker-cluster-view.js'
export { ClusterEventsStream, type ClusterEventsStreamConfig, type ObservedView, defaultClusterEventsStreamConfig } from './cluster-events-stream.js'
export { clusterPageHtml } from './cluster-page-html.js'
export {
  type ClusterGroupMemberView, type ClusterGroupOffsetView, type ClusterGroupView, type ClusterPageEventEntry, type ClusterPageUpdate,
  type ClusterPageView, type GroupEvent, type GroupEventEntry, clusterGroupViews, diffGroupViews, formatGroupEvent, groupViewsEqual,
} from './cluster-group-view.js'
export { coordinatedGroups } from './coordinated-groups.js'
