/**
 * Authorization at the gRPC client listener's edge: the helpers ClientService, GroupService and SecurityService use
 * to apply the shared rule table (security/request-permissions.ts) to gRPC requests.
 *
 * Owns: splitting a request's entries (partitions, topics, groups) into those the caller may act on and those it may
 * not, and putting the answers back together in request order (the metrics and clients read answers in that order),
 * with Kafka's per-resource error for each refused entry; and the whole-request refusal for calls whose answer has
 * no error field (DescribeCluster, DescribeUserScramCredentials): the handler throws `authorizationFailed`, and
 * the call is answered gRPC PERMISSION_DENIED with the Kafka code in the details, as the BROKER listener refuses.
 *
 * A request's decisions are memoized per resource name (`decisions`), so a produce of 100 partitions of one topic
 * asks the authorizer once. With ACLs off (`authorizer.enabled` false) callers skip all of this.
 */
import * as grpc from '@grpc/grpc-js'
import { ErrorCode, type GregorError, isGregorError } from '@gregor/common'
import type { AclResourceType } from '@gregor/metadata'
import type { Authorizer, Caller, Operation } from '../../security/authorizer.js'
import { authorizationFailed } from '../../security/request-permissions.js'

/** `name → allowed?` for one request, one operation on one resource type; each name asked once. */
export function decisions (authorizer: Authorizer, caller: Caller, operation: Operation, resourceType: AclResourceType): (name: string) => boolean {
  const known = new Map<string, boolean>()
  return (name) => {
    let allowed = known.get(name)
    if (allowed === undefined) {
      allowed = authorizer.authorize(caller, operation, resourceType, name)
      known.set(name, allowed)
    }
    return allowed
  }
}

/**
 * Runs `run` on the entries `allowed` lets through and answers the others with `refused(entry)`, in request order.
 * `run` must answer its entries in the order it was given them (as the replica manager and the controller do).
 */
export async function splitByPermission<Entry, Result> (
  entries: readonly Entry[],
  allowed: (entry: Entry) => boolean,
  run: (allowedEntries: Entry[]) => Promise<readonly Result[]>,
  refused: (entry: Entry) => Result,
): Promise<Result[]> {
  const permitted = entries.filter(allowed)
  if (permitted.length === entries.length) return [...await run(permitted)]
  const answers = permitted.length === 0 ? [] : await run(permitted)
  let next = 0
  return entries.map((entry) => allowed(entry) ? answers[next++] as Result : refused(entry))
}

/** Kafka's code and message for a refused resource, as response fields. */
export function refusalFields (resourceType: AclResourceType, operation: Operation): { errorCode: string; errorMessage: string } {
  const error: GregorError = authorizationFailed(resourceType, operation)
  return { errorCode: error.code, errorMessage: error.message }
}

const authorizationCodes: ReadonlySet<string> = new Set([
  ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorCode.GROUP_AUTHORIZATION_FAILED, ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
])

/**
 * A whole call refused (a handler threw `authorizationFailed(...)` because its answer has no error field):
 * PERMISSION_DENIED with `<KAFKA_CODE>: <message>` in the details; undefined for any other error.
 */
export function permissionDenied (error: unknown): grpc.ServiceError | undefined {
  if (!isGregorError(error) || !authorizationCodes.has(error.code)) return undefined
  const details = `${error.code}: ${error.message}`
  return Object.assign(new Error(details), { code: grpc.status.PERMISSION_DENIED, details, metadata: new grpc.Metadata() })
}
