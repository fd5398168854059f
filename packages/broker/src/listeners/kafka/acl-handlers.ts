/**
 * The Kafka handlers of the ACL family (CreateAcls, DescribeAcls, DeleteAcls), bound to `KafkaAclApi`; one file per
 * API under `handlers/`.
 */
import { ApiKey as Api } from '@gregor/kafka-protocol'
import { handleCreateAcls } from './handlers/create-acls.js'
import { handleDeleteAcls } from './handlers/delete-acls.js'
import { handleDescribeAcls } from './handlers/describe-acls.js'
import type { KafkaAclApi } from './kafka-acl-api.js'
import type { KafkaHandlers } from './kafka-handlers.js'

export function aclHandlers (api: KafkaAclApi): KafkaHandlers {
  return {
    [Api.CreateAcls]: async (request, context) => await handleCreateAcls(api, request, context),
    [Api.DescribeAcls]: (request, context) => handleDescribeAcls(api, request, context),
    [Api.DeleteAcls]: async (request, context) => await handleDeleteAcls(api, request, context),
  }
}
