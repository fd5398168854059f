/**
 * The ACL part of `KafkaBrokerApi` over the broker: CreateAcls and DeleteAcls go to the active controller through
 * `BrokerLifecycle` (forwarded like CreateTopics), DescribeAcls reads this broker's applied image, as Kafka answers it
 * from its local cache.
 *
 * Invariants: no protobuf object leaves this file; every failure, including a controller that could not be reached in
 * time, comes back per item as an `AdminFailure`.
 */
import { ErrorCode, isGregorError } from '@gregor/common'
import { type AclBinding, type AclBindingFilter, type AclIndex, describeAcls, readAclBindingFilter } from '@gregor/metadata'
import type { gregor } from '@gregor/protocol'
import { aclBindingFromWire, aclBindingToWire } from '../../controller/wire-acls.js'
import type { AdminFailure } from './kafka-admin-api.js'
import type { DeletedAcls, KafkaAclApi } from './kafka-acl-api.js'
import { callFailure, failure } from './controller-admin-api.js'

/** What the adapter calls on the controller (BrokerLifecycle's forwarding methods). */
export interface AclControllerCalls {
  createAcls (request: gregor.cluster.CreateAclsRequest.$Properties): Promise<gregor.cluster.CreateAclsResponse.$Properties>
  deleteAcls (request: gregor.cluster.DeleteAclsRequest.$Properties): Promise<gregor.cluster.DeleteAclsResponse.$Properties>
}

export interface ControllerAclApiOptions {
  readonly enabled: boolean
  readonly controller: AclControllerCalls
  readonly acls: () => AclIndex
}

/** A filter in the wire's form: a binding whose empty fields match anything. */
function filterToWire (filter: AclBindingFilter): gregor.cluster.IAclBinding {
  return {
    resourceType: filter.resourceType, resourceName: filter.resourceName ?? '', patternType: filter.patternType,
    principal: filter.principal ?? '', host: filter.host ?? '', operation: filter.operation, permission: filter.permission,
  }
}

export function controllerAclApi (options: ControllerAclApiOptions): KafkaAclApi {
  return {
    enabled: options.enabled,
    async createAcls (creations: readonly AclBinding[]): Promise<readonly (AdminFailure | null)[]> {
      try {
        const response = await options.controller.createAcls({ creations: creations.map(aclBindingToWire) })
        return creations.map((_, i) => {
          const result = response.results?.[i]
          if (result === undefined) return failure(undefined, 'the controller gave no answer for this ACL')
          return (result.errorCode ?? '') === '' ? null : failure(result.errorCode, result.errorMessage)
        })
      } catch (error) {
        const failed = callFailure(error)
        return creations.map(() => failed)
      }
    },
    describeAcls (filter: AclBindingFilter): readonly AclBinding[] | AdminFailure {
      try {
        return describeAcls(options.acls(), readAclBindingFilter(filter, 'filter'))
      } catch (error) {
        if (!isGregorError(error)) throw error
        return { error: error.code, message: error.message }
      }
    },
    async deleteAcls (filters: readonly AclBindingFilter[]): Promise<readonly (DeletedAcls | AdminFailure)[]> {
      try {
        const response = await options.controller.deleteAcls({ filters: filters.map(filterToWire) })
        return filters.map((_, i): DeletedAcls | AdminFailure => {
          const result = response.results?.[i]
          if (result === undefined) return { error: ErrorCode.UNKNOWN_SERVER_ERROR, message: 'the controller gave no answer for this filter' }
          if ((result.errorCode ?? '') !== '') return failure(result.errorCode, result.errorMessage)
          return { deleted: (result.deleted ?? []).map(aclBindingFromWire) }
        })
      } catch (error) {
        const failed = callFailure(error)
        return filters.map(() => failed)
      }
    },
  }
}
