/**
 * `AclAdmin`: Kafka's ACL admin calls (AdminClient `createAcls`, `describeAcls`, `deleteAcls`) over the gRPC
 * SecurityService, to any reachable broker (it forwards creations and deletions to the active controller).
 *
 * Names are Kafka's, upper case: resource type TOPIC | GROUP | CLUSTER, pattern LITERAL | PREFIXED (filters also
 * ANY | MATCH), operation READ, WRITE, ... ALL (filters also ANY), permission ALLOW | DENY (filters also ANY). A
 * filter field left out matches anything. Every refusal (CLUSTER_AUTHORIZATION_FAILED, SECURITY_DISABLED when the
 * brokers run without ACLs, INVALID_REQUEST for a malformed binding) is thrown as the broker's GregorError; nothing
 * is retried.
 */
import { securityMethods } from '@gregor/protocol'
import type { BrokerConnection } from './cluster-connection.js'
import { responseError } from './response-error.js'

export interface AclBinding {
  readonly resourceType: string
  readonly resourceName: string
  readonly patternType: string
  /** `User:<name>` or `User:*`. */
  readonly principal: string
  /** An address or `*`. */
  readonly host: string
  readonly operation: string
  readonly permission: string
}

export type AclFilter = Partial<AclBinding>

const fromWire = (binding: { [K in keyof AclBinding]?: string | null }): AclBinding => ({
  resourceType: binding.resourceType ?? '', resourceName: binding.resourceName ?? '', patternType: binding.patternType ?? '',
  principal: binding.principal ?? '', host: binding.host ?? '', operation: binding.operation ?? '', permission: binding.permission ?? '',
})

/** Empty fields mean "any" on the wire. */
const filterToWire = (filter: AclFilter): AclBinding => fromWire(filter)

export class AclAdmin {
  readonly #connection: BrokerConnection

  constructor (connection: BrokerConnection) {
    this.#connection = connection
  }

  /** Creates the ACLs (an existing one is a success); throws the first refusal. */
  async createAcls (bindings: readonly AclBinding[]): Promise<void> {
    const response = await this.#connection.callAny(securityMethods.createAcls, { creations: [...bindings] })
    for (const [index, result] of response.results.entries()) {
      const error = responseError(result.errorCode, result.errorMessage, { acl: bindings[index] })
      if (error !== undefined) throw error
    }
  }

  /** The ACLs the filter matches, in Kafka's listing order (by resource, then entry). */
  async describeAcls (filter: AclFilter = {}): Promise<AclBinding[]> {
    const response = await this.#connection.callAny(securityMethods.describeAcls, { filter: filterToWire(filter) })
    const error = responseError(response.errorCode, response.errorMessage)
    if (error !== undefined) throw error
    return response.acls.map(fromWire)
  }

  /** Deletes every ACL each filter matches; returns those deleted (an ACL matched by two filters is listed twice). */
  async deleteAcls (filters: readonly AclFilter[]): Promise<AclBinding[]> {
    const response = await this.#connection.callAny(securityMethods.deleteAcls, { filters: filters.map(filterToWire) })
    const deleted: AclBinding[] = []
    for (const result of response.results) {
      const error = responseError(result.errorCode, result.errorMessage)
      if (error !== undefined) throw error
      deleted.push(...(result.deleted ?? []).map(fromWire))
    }
    return deleted
  }
}
