/**
 * The Kafka handlers of the admin family (topic and cluster administration: create/delete topics, partitions, configs,
 * cluster and quorum descriptions, log directories, preferred-leader elections), bound to `KafkaAdminApi`; one file
 * per API under `handlers/`.
 */
import { ApiKey as Api } from '@gregor/kafka-protocol'
import { handleAlterUserScramCredentials } from './handlers/alter-user-scram-credentials.js'
import { handleCreatePartitions } from './handlers/create-partitions.js'
import { handleCreateTopics } from './handlers/create-topics.js'
import { handleDeleteTopics } from './handlers/delete-topics.js'
import { handleDescribeCluster } from './handlers/describe-cluster.js'
import { handleDescribeConfigs } from './handlers/describe-configs.js'
import { handleDescribeLogDirs } from './handlers/describe-log-dirs.js'
import { handleDescribeQuorum } from './handlers/describe-quorum.js'
import { handleDescribeUserScramCredentials } from './handlers/describe-user-scram-credentials.js'
import { handleElectLeaders } from './handlers/elect-leaders.js'
import { handleIncrementalAlterConfigs } from './handlers/incremental-alter-configs.js'
import type { KafkaAdminApi } from './kafka-admin-api.js'
import type { KafkaHandlers } from './kafka-handlers.js'

export function adminHandlers (api: KafkaAdminApi): KafkaHandlers {
  return {
    [Api.CreateTopics]: async (request, context) => await handleCreateTopics(api, request, context),
    [Api.DeleteTopics]: async (request, context) => await handleDeleteTopics(api, request, context),
    [Api.CreatePartitions]: async (request, context) => await handleCreatePartitions(api, request, context),
    [Api.DescribeCluster]: (request, context) => handleDescribeCluster(api, request, context),
    [Api.DescribeConfigs]: (request, context) => handleDescribeConfigs(api, request, context),
    [Api.DescribeQuorum]: (request, context) => handleDescribeQuorum(api, request, context),
    [Api.DescribeLogDirs]: (request, context) => handleDescribeLogDirs(api, request, context),
    [Api.ElectLeaders]: async (request, context) => await handleElectLeaders(api, request, context),
    [Api.IncrementalAlterConfigs]: async (request, context) => await handleIncrementalAlterConfigs(api, request, context),
    [Api.DescribeUserScramCredentials]: (request, context) => handleDescribeUserScramCredentials(api, request, context),
    [Api.AlterUserScramCredentials]: async (request, context) => await handleAlterUserScramCredentials(api, request, context),
  }
}
