/**
 * @gregor/metadata: metadata records, the metadata image, and the controller's pure decisions.
 *
 * Every decision is a function of (image, request, time given as `nowMs`) that returns the records to propose, or
 * throws a GregorError; none mutates the image. The controller proposes a decision's records as one Raft entry and
 * every broker applies the committed entry with `MetadataImage.applyBatch`. Given `batchBytesMax` (the Raft entry
 * limit), a decision keeps its batch within it: it refuses what can never fit (a topic too big for one entry), or
 * returns a first batch that is `complete: false`, a valid image on its own, and is decided again once that is applied. Decide against an image that already
 * includes every record you proposed and have not yet seen applied (KRaft's controller keeps such a speculative image
 * in memory), or propose one decision at a time; a decision made on a stale image can produce records that no longer
 * apply, which the image rejects with an assertion.
 */
export {
  NO_LEADER, metadataLimits,
  type BrokerListener, type BrokerShutdownRequestedRecord, type BrokerStateRecord, type FenceBrokerRecord,
  type MetadataRecord, type MetadataRecordType, type PartitionChangeRecord, type PartitionRecord,
  type RegisterBrokerRecord, type RemoveTopicRecord, type TopicRecord, type UnfenceBrokerRecord, type AddPartitionsRecord, type TopicConfigChangeRecord,
  type UserScramCredentialRecord, type RemoveUserScramCredentialRecord,
  type AccessControlEntryRecord, type RemoveAccessControlEntryRecord,
  type UnregisterBrokerRecord,
} from './metadata-record.js'
export {
  METADATA_RECORD_VERSION, decodeMetadataRecord, decodeMetadataRecords, encodeMetadataRecord, encodeMetadataRecords,
  metadataBatchBytes, metadataBatchOverheadBytes, metadataRecordBytes, readMetadataRecord,
} from './metadata-record-codec.js'
export { MetadataBatchBudget, splitIndependentRecords } from './metadata-batch-budget.js'
export { type BoundedBatch, boundedBrokerRemoval } from './isr-removal.js'
export {
  MetadataImage, type BrokerRegistration, type MetadataImageState, type PartitionDescription, type PartitionImage,
  type TopicDescription, type TopicImage, type ScramUser, type UserScramCredentialImage,
} from './metadata-image.js'
export { METADATA_SNAPSHOT_VERSION } from './metadata-snapshot.js'
export { MetadataDraft } from './metadata-draft.js'
export { type MetadataConfig, defaultMetadataConfig, validateMetadataConfig } from './metadata-config.js'
export {
  type CleanupPolicy, type TopicConfig, cleanupDeletes, defaultTopicConfig, resolveTopicConfig, topicConfigProblems,
} from './topic-config.js'
export {
  TOPIC_NAME_LENGTH_MAX, isInternalTopicName, topicNameProblem, topicNamesCollide, validateTopicName,
} from './topic-name.js'
export {
  type PlacementBroker, type ReplicaPlacementRequest, assignReplicasToBrokers, placeReplicas,
} from './replica-placement.js'
export {
  type PreferredElectionOutcome, type PreferredLeaderElectionDecision, type TopicPartition,
  decidePreferredLeaderElection, electLeader, electPreferredLeader, isAcceptableLeader,
} from './leader-election.js'
export { type PartitionTarget, buildPartitionChange } from './partition-change.js'
export { type AlterPartitionRequest, type IsrChangeDecision, decideIsrChange } from './isr-change.js'
export { type RefetchingReplica, decideRefetchIsrRemovals } from './refetch-isr-removal.js'
export { type IsrTransition, isrTransition } from './eligible-leader-replicas.js'
export {
  type BrokerExpiryReason, type BrokerHeartbeat, type BrokerHeartbeats, type BrokerLiveness,
  type BrokerLivenessInput, type HeartbeatReport, brokerLiveness, checkBrokerIncarnation, connectionLost,
  heartbeatOf, heartbeatReceived,
} from './broker-heartbeat.js'
export { type BrokerFencingDecision, type FencedBroker, decideBrokerFencing, nextFencingDeadlineMs } from './broker-fencing.js'
export {
  type BrokerUnfencingDecision, type OfflineElectionsDecision, decideBrokerUnfencing, decideOfflinePartitionElections,
} from './broker-unfencing.js'
export {
  type BrokerRegistrationDecision, type BrokerRegistrationRequest, decideBrokerRegistration,
  decideBrokerUnregistration,
} from './broker-registration.js'
export {
  type ControlledShutdownDecision, type ControlledShutdownRequest, decideControlledShutdown,
} from './controlled-shutdown.js'
export {
  type CreateTopicRequest, type CreateTopicResult, type CreateTopicsDecision, type CreateTopicsInput,
  type CreatedTopic, decideCreateTopics,
} from './create-topics.js'
export {
  type CreatePartitionsDecision, type CreatePartitionsInput, type CreatePartitionsResult, type GrownTopic, type PartitionCountRequest,
  decideCreatePartitions,
} from './create-partitions.js'
export {
  type AlterTopicConfigRequest, type AlterTopicConfigResult, type AlterTopicConfigsDecision, type AlterTopicConfigsInput,
  type AlteredTopicConfig, type TopicConfigAlteration, type TopicConfigOperation, decideAlterTopicConfigs,
} from './alter-topic-configs.js'
export {
  type AlterUserScramCredentialResult, type AlterUserScramCredentialsDecision, type AlterUserScramCredentialsInput,
  type ScramCredentialDeletion, type ScramCredentialUpsertion, decideAlterUserScramCredentials,
} from './alter-user-scram-credentials.js'
export {
  SCRAM_ITERATIONS_DEFAULT, SCRAM_ITERATIONS_MAX, SCRAM_ITERATIONS_MIN, SCRAM_SALT_BYTES, type ScramCredential, type ScramHash,
  type ScramMechanism, clientKey, digest, hmac, isScramMechanism, scramCredentialFromSaltedPassword, scramHash,
  scramMechanisms, serverKey,
} from './scram-credential.js'
export {
  CLUSTER_RESOURCE_NAME, WILDCARD_HOST, WILDCARD_PRINCIPAL, WILDCARD_RESOURCE, type Acl, type AclBinding, type AclBindingFilter,
  AclIndex, type AclOperation, type AclPatternType, type AclPermission, type AclResourceType, type AuthorizationDecision,
  type AuthorizationReason, type AuthorizationRequest, type AuthorizerOptions, aclBindingKey, aclMatchesFilter, aclOperations,
  aclPatternTypes, aclPermissions, aclResourceTypes, allowCovers, anyAclFilter, authorize, compareAcls, denyCovers, describeAcls,
  readAclBindingFilter,
} from './acl.js'
export {
  type CreateAclResult, type CreateAclsDecision, type CreateAclsInput, type DeleteAclsDecision, type DeleteAclsResult,
  decideCreateAcls, decideDeleteAcls,
} from './alter-acls.js'
export {
  type DeleteTopicResult, type DeleteTopicsDecision, type DeleteTopicsInput, type TopicReference, decideDeleteTopics,
} from './delete-topics.js'
export {
  type BrokerState, type BrokerView, type ClusterEvent, type ClusterEventEntry, type ClusterUpdate, type ClusterView,
  type PartitionStatus, type PartitionView, type QuorumView, clusterUpdate, clusterView, clusterViewsEqual,
  diffClusterViews, formatClusterEvent, partitionName, partitionStatus,
} from './cluster-view.js'
export { repeatedNames } from './repeated-names.js'
