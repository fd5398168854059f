/**
 * Which request needs which operation on which resource: Kafka's rules (KafkaApis / AuthHelper), as data and small
 * functions, so the Kafka and gRPC client listeners authorize the same requests the same way.
 *
 * Owns: `requestPermissions` (one row per request kind, named after Kafka's API), the error each resource type
 * answers (`authorizationFailed`), and the two checks with an "either" rule: creating a topic (CREATE on the cluster
 * or on the topic) and idempotent producing (IDEMPOTENT_WRITE on the cluster or WRITE on any topic, KIP-679).
 *
 * How to read a row: `topic`, `group`, `cluster` say what the request needs on each topic it names, on its group,
 * and on the cluster. A listed topic or group the caller may not access gets that resource's error for that entry
 * only (per partition, per topic, per group), never a whole-request failure, except where Kafka fails the whole
 * request (a cluster check, a group check of a group request). Listings (`filter`) drop what the caller may not
 * DESCRIBE instead of failing. Topics the caller may not DESCRIBE answer TOPIC_AUTHORIZATION_FAILED whether they
 * exist or not, before any existence check: an unauthorized caller never learns that a topic exists.
 */
import { ErrorCode, GregorError } from '@gregor/common'
import type { AclResourceType } from '@gregor/metadata'
import { type Authorizer, type Caller, type Operation, authorizeCluster } from './authorizer.js'

export interface RequestPermission {
  /** Needed on every topic the request names. */
  readonly topic?: Operation
  /** Needed on the request's group(s). */
  readonly group?: Operation
  /** Needed on the cluster. */
  readonly cluster?: Operation
  /** How the listing is narrowed instead of failing (ListGroups, Metadata of all topics). */
  readonly filter?: { readonly resourceType: AclResourceType; readonly operation: Operation }
  /** A rule that is not a plain "this and that" (see the functions below). */
  readonly either?: 'createTopic' | 'idempotentWrite' | 'listGroups'
}

/** Kafka's rules, by request (KafkaApis, 3.7+). */
export const requestPermissions = Object.freeze({
  produce: { topic: 'WRITE' },
  /** Transactional ids are not supported; an idempotent producer needs the KIP-679 rule. */
  initProducerId: { either: 'idempotentWrite' },
  fetch: { topic: 'READ' },
  listOffsets: { topic: 'DESCRIBE' },
  offsetForLeaderEpoch: { topic: 'DESCRIBE' },
  /** Named topics the caller may not DESCRIBE fail per topic; all topics: filtered; auto-creation needs createTopic. */
  metadata: { topic: 'DESCRIBE', filter: { resourceType: 'TOPIC', operation: 'DESCRIBE' } },
  createTopics: { either: 'createTopic' },
  deleteTopics: { topic: 'DELETE' },
  createPartitions: { topic: 'ALTER' },
  /** A broker resource's configs need the cluster permission instead. */
  describeConfigs: { topic: 'DESCRIBE_CONFIGS' },
  incrementalAlterConfigs: { topic: 'ALTER_CONFIGS' },
  /** Gregor's gRPC AlterTopicConfigs: Kafka's IncrementalAlterConfigs rule for topics. */
  alterTopicConfigs: { topic: 'ALTER_CONFIGS' },
  findCoordinator: { group: 'DESCRIBE' },
  joinGroup: { group: 'READ' },
  syncGroup: { group: 'READ' },
  heartbeat: { group: 'READ' },
  leaveGroup: { group: 'READ' },
  /** KIP-848: also DESCRIBE on every subscribed topic, else TOPIC_AUTHORIZATION_FAILED for the whole heartbeat. */
  consumerGroupHeartbeat: { group: 'READ', topic: 'DESCRIBE' },
  /** The group first (whole request), then each topic (per partition). */
  offsetCommit: { group: 'READ', topic: 'READ' },
  /** Partitions of topics the caller may not DESCRIBE are left out (Kafka filters them) or fail per partition. */
  offsetFetch: { group: 'DESCRIBE', topic: 'DESCRIBE' },
  describeGroups: { group: 'DESCRIBE' },
  consumerGroupDescribe: { group: 'DESCRIBE' },
  /** DESCRIBE on the cluster lists every group; else only the groups the caller may DESCRIBE. */
  listGroups: { either: 'listGroups', filter: { resourceType: 'GROUP', operation: 'DESCRIBE' } },
  deleteGroups: { group: 'DELETE' },
  offsetDelete: { group: 'DELETE', topic: 'READ' },
  describeCluster: { cluster: 'DESCRIBE' },
  describeQuorum: { cluster: 'DESCRIBE' },
  describeLogDirs: { cluster: 'DESCRIBE' },
  describeAcls: { cluster: 'DESCRIBE' },
  describeUserScramCredentials: { cluster: 'DESCRIBE' },
  electLeaders: { cluster: 'ALTER' },
  createAcls: { cluster: 'ALTER' },
  deleteAcls: { cluster: 'ALTER' },
  alterUserScramCredentials: { cluster: 'ALTER' },
} satisfies Record<string, RequestPermission>)

export type RequestKind = keyof typeof requestPermissions

const failureCodes: Readonly<Record<AclResourceType, ErrorCode>> = Object.freeze({
  TOPIC: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  GROUP: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  CLUSTER: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
})

/** The error a refused resource of this type answers (Kafka's TOPIC/GROUP/CLUSTER_AUTHORIZATION_FAILED). */
export function authorizationFailed (resourceType: AclResourceType, operation: Operation): GregorError {
  const what = resourceType === 'CLUSTER' ? 'the cluster' : `this ${resourceType.toLowerCase()}`
  return new GregorError(failureCodes[resourceType], `not authorized to ${operation} ${what}`)
}

/** CreateTopics and auto-creation: CREATE on the cluster, else CREATE on the topic (Kafka's rule). */
export function mayCreateTopic (authorizer: Authorizer, caller: Caller, topic: string): boolean {
  if (!authorizer.enabled) return true
  return authorizeCluster(authorizer, caller, 'CREATE', { logIfDenied: false }) || authorizer.authorize(caller, 'CREATE', 'TOPIC', topic)
}

/** InitProducerId without a transactional id: IDEMPOTENT_WRITE on the cluster, else WRITE on some topic (KIP-679). */
export function mayWriteIdempotently (authorizer: Authorizer, caller: Caller): boolean {
  if (!authorizer.enabled) return true
  return authorizeCluster(authorizer, caller, 'IDEMPOTENT_WRITE', { logIfDenied: false }) ||
    authorizer.authorizeByResourceType(caller, 'WRITE', 'TOPIC')
}

/** ListGroups: every group with DESCRIBE on the cluster, else those the caller may DESCRIBE. */
export function listableGroups<T> (authorizer: Authorizer, caller: Caller, groups: readonly T[], groupIdOf: (group: T) => string): readonly T[] {
  if (!authorizer.enabled || authorizeCluster(authorizer, caller, 'DESCRIBE', { logIfDenied: false })) return groups
  return authorizer.filter(caller, 'DESCRIBE', 'GROUP', groups, groupIdOf)
}
