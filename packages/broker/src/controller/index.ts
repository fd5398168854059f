/**
 * The controller and the broker's side of the controller protocol: what the broker composition wires together.
 */
export {
  Controller, errorFields, notControllerError,
  type AlterPartitionRequest, type AlterPartitionResponse, type BrokerHeartbeatRequest, type BrokerHeartbeatResponse,
  type ControllerDeps, type CreateAclsRequest, type CreateAclsResponse, type DeleteAclsRequest, type DeleteAclsResponse,
  type CreateTopicsRequest, type CreateTopicsResponse,
  type DeleteTopicsRequest, type DeleteTopicsResponse, type RegisterBrokerRequest, type RegisterBrokerResponse,
} from './controller.js'
export type { ControllerChannel, HeartbeatHandlers, HeartbeatSession } from './controller-channel.js'
export { BrokerLifecycle, type BrokerLifecycleDeps } from './broker-lifecycle.js'
export { type BrokerLifecycleConfig, defaultBrokerLifecycleConfig, defaultControllerConfig } from './controller-config.js'
export { wireTopicConfigs } from './wire-topic-configs.js'
export { aclBindingFromWire, aclBindingToWire, aclFilterFromWire, describeAclsFromImage } from './wire-acls.js'
