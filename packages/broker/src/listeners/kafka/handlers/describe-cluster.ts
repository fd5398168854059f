/**
 * DescribeCluster (key 60, v0-1): cluster id, active controller and the live brokers on this listener (Kafka's
 * AdminClient `describeCluster`). Only the brokers endpoint type (1) is served: a request for controller endpoints
 * (2, KIP-919, which Gregor's combined-mode nodes do not separate) is answered UNSUPPORTED_VERSION.
 * Authorized operations are not computed (no ACLs yet): INT32_MIN, Kafka's "not provided".
 */
import { ErrorCode } from '@gregor/common'
import { type DescribeClusterRequest, type DescribeClusterResponse, KAFKA_NONE, kafkaErrorCode } from '@gregor/kafka-protocol'
import type { KafkaAdminApi } from '../kafka-admin-api.js'
import type { KafkaRequestContext } from '../kafka-handlers.js'

const AUTHORIZED_OPERATIONS_OMITTED = -2147483648
const BROKERS_ENDPOINT_TYPE = 1

export function handleDescribeCluster (api: KafkaAdminApi, request: DescribeClusterRequest, _context: KafkaRequestContext): DescribeClusterResponse {
  const cluster = api.describeCluster()
  const base = {
    throttleTimeMs: 0, endpointType: request.endpointType, clusterId: cluster.clusterId,
    controllerId: cluster.controllerId, clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  }
  if (request.endpointType !== BROKERS_ENDPOINT_TYPE) {
    return {
      ...base, errorCode: kafkaErrorCode(ErrorCode.UNSUPPORTED_VERSION), errorMessage: `endpoint type ${request.endpointType} is not served; ask for brokers (1)`, brokers: [],
    }
  }
  return {
    ...base, errorCode: KAFKA_NONE, errorMessage: null,
    brokers: cluster.brokers.map(({ brokerId, host, port, rack }) => ({ brokerId, host, port, rack })),
  }
}
