/**
 * A broker's configuration: identity, quorum voters, named listeners (Kafka style) and data directory, validated as
 * a whole — every problem is listed, none alone. Only the CLI reads flags and environment into a `BrokerConfigInput`.
 *
 * Listeners: `NAME://host:port` items. `BROKER` is the inter-broker listener (raft, controller, replication; the
 * voter addresses point at it), `ADMIN` serves HTTP (/healthz, /readyz); every other name is a client listener.
 * Advertised listeners give the address others should dial for each name; by default the listener's own, which
 * must then not be a wildcard host.
 *
 * Security (Kafka's `listener.security.protocol.map`): every listener speaks PLAINTEXT unless the map names another
 * of Kafka's protocols for it. SSL and SASL_SSL need this broker's certificate and key (PEM files, read when the
 * broker starts, never here); a BROKER listener on SSL also needs the CA, and there every peer must present a
 * certificate (mTLS) whose principal names a cluster member (docs/security.md). ADMIN serves HTTP: PLAINTEXT, or HTTPS with
 * `ADMIN:SSL`; `adminTokenFile` names a file whose token /metrics and the cluster page then require.
 */
import { ErrorCode, GregorError, type NodeId } from '@gregor/common'
import { defaultCoordinatorConfig } from '@gregor/coordinator'
import { defaultMetadataConfig } from '@gregor/metadata'
import { type SaslMechanism, saslMechanisms } from './listeners/kafka/sasl/sasl-session.js'
import { defaultReplicationConfig } from './replica/replication-config.js'

export interface ListenerAddress {
  readonly name: string
  readonly host: string
  readonly port: number
}

export interface BrokerConfig {
  readonly nodeId: NodeId
  readonly clusterId: string
  readonly voters: ReadonlyMap<NodeId, string>
  readonly listeners: readonly ListenerAddress[]
  readonly advertisedListeners: readonly ListenerAddress[]
  /**
   * The protocol each client listener speaks (Kafka's `listener.security.protocol.map`, for wire protocols): `kafka`
   * (Kafka's own clients and tools) or `grpc` (Gregor's client and CLI). BROKER and ADMIN are always gRPC and HTTP.
   */
  readonly listenerProtocols: ReadonlyMap<string, ListenerProtocol>
  /** Kafka's `auto.create.topics.enable`: a Kafka Metadata request may create the topics it names. */
  readonly autoCreateTopicsEnable: boolean
  readonly dataDir: string
  readonly rack: string
  readonly logLevel: string
  /** Auto leader rebalance period of the controller, 0 = off (Kafka `leader.imbalance.check.interval.seconds`). */
  readonly leaderImbalanceCheckIntervalMs: number
  /** How often old segments are deleted by their topic's retention.ms / retention.bytes (Kafka `log.retention.check.interval.ms`). */
  readonly logRetentionCheckIntervalMs: number
  /** A group member silent this long is removed and its partitions move (Kafka `group.consumer.session.timeout.ms`). */
  readonly groupSessionTimeoutMs: number
  /** How often a stable group member heartbeats (Kafka `group.consumer.heartbeat.interval.ms`, there 5 s). */
  readonly groupHeartbeatIntervalMs: number
  /** Partitions of `__consumer_offsets` when it is first created (Kafka `offsets.topic.num.partitions`). */
  readonly offsetsTopicNumPartitions: number
  /** `segment.bytes` of `__consumer_offsets` (Kafka `offsets.topic.segment.bytes`): only rolled segments are cleaned. */
  readonly offsetsTopicSegmentBytes: number
  /** Pause between log cleaner passes (Kafka `log.cleaner.backoff.ms`). */
  readonly logCleanerBackoffMs: number
  /**
   * The security protocol of every listener, ADMIN included (Kafka's `listener.security.protocol.map`; unmapped:
   * PLAINTEXT). SASL_* listeners authenticate clients by SASL (SaslHandshake on Kafka listeners,
   * SecurityService.Authenticate on gRPC ones); *_SSL ones run TLS.
   */
  readonly listenerSecurityProtocols: ReadonlyMap<string, SecurityProtocol>
  /** PEM files of this broker's TLS identity and trust; present whenever a listener runs TLS. */
  readonly ssl: SslFilesConfig | undefined
  /** The SASL mechanisms SASL_* Kafka listeners offer (Kafka's `sasl.enabled.mechanisms`); default all three. */
  readonly saslEnabledMechanisms: readonly SaslMechanism[]
  /** GREGOR_ADMIN_TOKEN_FILE: a file holding the token /metrics and the cluster page require; open when absent. */
  readonly adminTokenFile: string | undefined
  /**
   * GREGOR_SCRAM_BOOTSTRAP_FILE: SCRAM credentials (salted, never passwords) this broker creates through the controller
   * on its first start, for users that have none yet (Kafka's `kafka-storage format --add-scram`); scram-bootstrap.ts.
   */
  readonly scramBootstrapFile: string | undefined
  /** Who may do what (ACLs, docs/security.md "Authorization"); off by default: every request is allowed. */
  readonly authorization: AuthorizationConfig
}

/**
 * Kafka's authorizer settings. `aclsEnabled` false (the default) means no authorizer at all, as before ACLs:
 * every request is allowed and CreateAcls/DescribeAcls/DeleteAcls answer SECURITY_DISABLED.
 */
export interface AuthorizationConfig {
  /** GREGOR_ACLS_ENABLED: authorize every client request against the ACLs in the metadata image. */
  readonly aclsEnabled: boolean
  /** GREGOR_SUPER_USERS (Kafka's `super.users`): principals allowed everything, `User:admin;User:bob`. */
  readonly superUsers: readonly string[]
  /** GREGOR_ALLOW_EVERYONE_IF_NO_ACL_FOUND (Kafka's `allow.everyone.if.no.acl.found`): false by default. */
  readonly allowEveryoneIfNoAclFound: boolean
}

export type ListenerProtocol = 'grpc' | 'kafka'

/** Kafka's security protocol names (`security.protocol`). */
export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL'
export const securityProtocols: readonly SecurityProtocol[] = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL']

/** Does a listener with this protocol run TLS? */
export function usesTls (protocol: SecurityProtocol | undefined): boolean {
  return protocol === 'SSL' || protocol === 'SASL_SSL'
}

/** Kafka's `ssl.client.auth`: whether a TLS client listener asks for, or insists on, a client certificate. */
export type SslClientAuth = 'none' | 'requested' | 'required'

/**
 * Where this broker's TLS material lives (Kafka's keystore and truststore, as PEM files): `certFile` is the
 * certificate chain it presents, `keyFile` its private key, `caFile` the CA bundle that peers' and clients'
 * certificates must chain to. `clientAuth` applies to client listeners; the BROKER listener on SSL always requires
 * a client certificate.
 */
export interface SslFilesConfig {
  readonly certFile: string
  readonly keyFile: string
  readonly caFile: string | undefined
  readonly clientAuth: SslClientAuth
}

export interface BrokerConfigInput {
  readonly nodeId?: string
  readonly clusterId?: string
  readonly voters?: string
  readonly listeners?: string
  readonly advertisedListeners?: string
  /** `NAME:protocol,...`, e.g. `KAFKA:kafka,HOST:kafka,CLIENT:grpc`. */
  readonly listenerProtocolMap?: string
  readonly autoCreateTopicsEnable?: string
  readonly dataDir?: string
  readonly rack?: string
  readonly logLevel?: string
  readonly leaderImbalanceCheckIntervalMs?: string
  readonly logRetentionCheckIntervalMs?: string
  readonly groupSessionTimeoutMs?: string
  readonly groupHeartbeatIntervalMs?: string
  readonly offsetsTopicNumPartitions?: string
  readonly offsetsTopicSegmentBytes?: string
  readonly logCleanerBackoffMs?: string
  /** `NAME:PROTOCOL,...`, e.g. `KAFKA:SASL_SSL,CLIENT:SSL,BROKER:SSL` (GREGOR_LISTENER_SECURITY_PROTOCOL_MAP). */
  readonly listenerSecurityProtocolMap?: string
  readonly sslCertFile?: string
  readonly sslKeyFile?: string
  readonly sslCaFile?: string
  /** none | requested | required (GREGOR_SSL_CLIENT_AUTH); default none. */
  readonly sslClientAuth?: string
  /** Comma-separated, of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (GREGOR_SASL_ENABLED_MECHANISMS); default all three. */
  readonly saslEnabledMechanisms?: string
  readonly adminTokenFile?: string
  readonly scramBootstrapFile?: string
  /** true | false (GREGOR_ACLS_ENABLED); default false. */
  readonly aclsEnabled?: string
  /** `User:<name>;User:<name>` (GREGOR_SUPER_USERS), Kafka's `super.users`. */
  readonly superUsers?: string
  /** true | false (GREGOR_ALLOW_EVERYONE_IF_NO_ACL_FOUND); default false. */
  readonly allowEveryoneIfNoAclFound?: string
}

/** Kafka's `offsets.topic.num.partitions` default. */
export const defaultOffsetsTopicNumPartitions = 50
/** Kafka's `offsets.topic.segment.bytes` default (100 MiB). */
export const defaultOffsetsTopicSegmentBytes = 100 * 1024 * 1024

const defaultLeaderImbalanceCheckIntervalMs = defaultMetadataConfig.leaderImbalanceCheckIntervalMs

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']
const wildcardHosts = new Set(['0.0.0.0', '::', '[::]', ''])

export function parseListeners (text: string, field: string, problems: string[]): ListenerAddress[] {
  const listeners: ListenerAddress[] = []
  for (const item of text.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    const match = /^([A-Za-z][A-Za-z0-9_]*):\/\/(\[[^\]]*\]|[^:/\s]*):(\d{1,5})$/.exec(item)
    const port = Number(match?.[3])
    if (match === null || port < 1 || port > 65535) { problems.push(`${field}: "${item}" is not NAME://host:port`); continue }
    const name = (match[1] as string).toUpperCase()
    if (listeners.some((listener) => listener.name === name)) problems.push(`${field}: listener ${name} given twice`)
    listeners.push({ name, host: match[2] as string, port })
  }
  return listeners
}

/**
 * The protocol of every client listener: what `text` (`NAME:protocol,...`) says, else `kafka` for a listener named
 * KAFKA and `grpc` for the others, so a plain `CLIENT://...` setup keeps working as before.
 */
export function parseListenerProtocols (text: string, listeners: readonly ListenerAddress[], problems: string[]): Map<string, ListenerProtocol> {
  const given = new Map<string, ListenerProtocol>()
  for (const item of text.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    const match = /^([A-Za-z][A-Za-z0-9_]*):([A-Za-z]+)$/.exec(item)
    const name = match?.[1]?.toUpperCase() ?? ''
    const protocol = match?.[2]?.toLowerCase()
    if (match === null || (protocol !== 'grpc' && protocol !== 'kafka')) { problems.push(`listener-protocol-map: "${item}" is not NAME:kafka or NAME:grpc`); continue }
    if (name === 'BROKER' || name === 'ADMIN') { problems.push(`listener-protocol-map: ${name} has a fixed protocol`); continue }
    if (!listeners.some((listener) => listener.name === name)) problems.push(`listener-protocol-map: ${name} is not a listener`)
    given.set(name, protocol)
  }
  const protocols = new Map<string, ListenerProtocol>()
  for (const { name } of listeners) {
    if (name === 'BROKER' || name === 'ADMIN') continue
    protocols.set(name, given.get(name) ?? (name === 'KAFKA' ? 'kafka' : 'grpc'))
  }
  return protocols
}

/**
 * The security protocol of every listener: what `text` (`NAME:PROTOCOL,...`) says, else PLAINTEXT. BROKER carries
 * no SASL (brokers prove who they are by certificate), nor does ADMIN (HTTP; its paths are guarded by a token).
 */
export function parseListenerSecurityProtocols (text: string, listeners: readonly ListenerAddress[], problems: string[]): Map<string, SecurityProtocol> {
  const field = 'listener-security-protocol-map'
  const given = new Map<string, SecurityProtocol>()
  for (const item of text.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    const match = /^([A-Za-z][A-Za-z0-9_]*):([A-Za-z_]+)$/.exec(item)
    const name = match?.[1]?.toUpperCase() ?? ''
    const protocol = match?.[2]?.toUpperCase() as SecurityProtocol | undefined
    if (match === null || protocol === undefined || !securityProtocols.includes(protocol)) {
      problems.push(`${field}: "${item}" is not NAME:PROTOCOL with PROTOCOL one of ${securityProtocols.join(', ')}`)
      continue
    }
    const problem = given.has(name) ? `${name} given twice`
      : !listeners.some((listener) => listener.name === name) ? `${name} is not a listener`
        : name === 'ADMIN' && protocol !== 'PLAINTEXT' && protocol !== 'SSL' ? 'ADMIN serves HTTP: PLAINTEXT or SSL (HTTPS)'
          : name === 'BROKER' && protocol !== 'PLAINTEXT' && protocol !== 'SSL' ? 'BROKER is PLAINTEXT or SSL (brokers authenticate by certificate)'
            : undefined
    if (problem !== undefined) { problems.push(`${field}: ${problem}`); continue }
    given.set(name, protocol)
  }
  return new Map(listeners.map(({ name }) => [name, given.get(name) ?? 'PLAINTEXT']))
}

const sslClientAuths: readonly SslClientAuth[] = ['none', 'requested', 'required']

/** The TLS files, required as soon as one listener runs TLS; undefined when none does. */
function parseSslFiles (input: BrokerConfigInput, protocols: ReadonlyMap<string, SecurityProtocol>, problems: string[]): SslFilesConfig | undefined {
  let clientAuth = (input.sslClientAuth ?? 'none').toLowerCase() as SslClientAuth
  if (!sslClientAuths.includes(clientAuth)) {
    problems.push(`ssl-client-auth: one of ${sslClientAuths.join(', ')} (GREGOR_SSL_CLIENT_AUTH)`)
    clientAuth = 'none'
  }
  const tlsListeners = [...protocols].filter(([, protocol]) => usesTls(protocol)).map(([name]) => name)
  if (tlsListeners.length === 0) return undefined
  const certFile = input.sslCertFile ?? ''
  const keyFile = input.sslKeyFile ?? ''
  const caFile = input.sslCaFile === undefined || input.sslCaFile === '' ? undefined : input.sslCaFile
  const why = `listener ${tlsListeners.join(', ')} runs TLS`
  if (certFile === '') problems.push(`ssl-cert-file: required, ${why} (GREGOR_SSL_CERT_FILE)`)
  if (keyFile === '') problems.push(`ssl-key-file: required, ${why} (GREGOR_SSL_KEY_FILE)`)
  if (caFile === undefined && protocols.get('BROKER') === 'SSL') problems.push('ssl-ca-file: required, BROKER runs SSL and peers are checked against it (GREGOR_SSL_CA_FILE)')
  else if (caFile === undefined && clientAuth !== 'none') problems.push(`ssl-ca-file: required, ssl-client-auth ${clientAuth} checks client certificates against it (GREGOR_SSL_CA_FILE)`)
  return Object.freeze({ certFile, keyFile, caFile, clientAuth })
}

export function parseVoters (text: string, problems: string[]): Map<NodeId, string> {
  const voters = new Map<NodeId, string>()
  for (const item of text.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    const match = /^(\d+)@([^:@\s]+):(\d{1,5})$/.exec(item)
    const id = Number(match?.[1])
    const port = Number(match?.[3])
    if (match === null || id < 1 || port < 1 || port > 65535) { problems.push(`voters: "${item}" is not id@host:port`); continue }
    if (voters.has(id as NodeId)) problems.push(`voters: node ${id} listed twice`)
    voters.set(id as NodeId, `${match[2] as string}:${port}`)
  }
  if (voters.size === 0) problems.push('voters: at least one voter is required (GREGOR_VOTERS=1@host:port,...)')
  return voters
}

export function validateBrokerConfig (input: BrokerConfigInput): BrokerConfig {
  const problems: string[] = []
  const nodeId = Number(input.nodeId)
  if (!Number.isInteger(nodeId) || nodeId < 1) problems.push('node-id: a positive integer is required (GREGOR_NODE_ID)')
  const clusterId = input.clusterId ?? ''
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(clusterId)) problems.push('cluster-id: 1-64 characters of [A-Za-z0-9._-] required (GREGOR_CLUSTER_ID)')
  const voters = parseVoters(input.voters ?? '', problems)
  if (Number.isInteger(nodeId) && voters.size > 0 && !voters.has(nodeId as NodeId)) problems.push(`voters: this node (${nodeId}) is not in the voter list`)
  const listeners = parseListeners(input.listeners ?? '', 'listeners', problems)
  for (const required of ['BROKER', 'ADMIN']) {
    if (!listeners.some((listener) => listener.name === required)) problems.push(`listeners: a ${required} listener is required (GREGOR_LISTENERS)`)
  }
  if (!listeners.some((listener) => listener.name !== 'BROKER' && listener.name !== 'ADMIN')) problems.push('listeners: at least one client listener (e.g. CLIENT://0.0.0.0:9092) is required')
  const advertised = parseListeners(input.advertisedListeners ?? '', 'advertised-listeners', problems)
  const advertisedListeners = listeners.map((listener) => advertised.find((item) => item.name === listener.name) ?? listener)
  for (const listener of advertisedListeners) {
    if (wildcardHosts.has(listener.host)) problems.push(`advertised-listeners: ${listener.name} listens on a wildcard host; give its advertised address (GREGOR_ADVERTISED_LISTENERS)`)
  }
  for (const item of advertised) {
    if (!listeners.some((listener) => listener.name === item.name)) problems.push(`advertised-listeners: ${item.name} is not a listener`)
  }
  const listenerProtocols = parseListenerProtocols(input.listenerProtocolMap ?? '', listeners, problems)
  const autoCreateText = (input.autoCreateTopicsEnable ?? 'true').toLowerCase()
  if (autoCreateText !== 'true' && autoCreateText !== 'false') problems.push('auto-create-topics-enable: true or false (GREGOR_AUTO_CREATE_TOPICS_ENABLE)')
  const autoCreateTopicsEnable = autoCreateText === 'true'
  const dataDir = input.dataDir ?? ''
  if (dataDir === '') problems.push('data-dir: required (GREGOR_DATA_DIR)')
  const logLevel = input.logLevel ?? 'info'
  if (!logLevels.includes(logLevel)) problems.push(`log-level: one of ${logLevels.join(', ')}`)
  /** An interval setting: an integer ≥ `min`, else `problem` is reported. */
  const intervalMs = (value: string | undefined, fallback: number, min: number, problem: string): number => {
    const parsed = Number(value ?? fallback)
    if (!Number.isSafeInteger(parsed) || parsed < min) problems.push(problem)
    return parsed
  }
  const leaderImbalanceCheckIntervalMs = intervalMs(input.leaderImbalanceCheckIntervalMs, defaultLeaderImbalanceCheckIntervalMs, 0,
    'leader-imbalance-check-interval-ms: a non-negative integer is required, 0 turns it off (GREGOR_LEADER_IMBALANCE_CHECK_INTERVAL_MS)')
  const logRetentionCheckIntervalMs = intervalMs(input.logRetentionCheckIntervalMs, defaultReplicationConfig.retentionCheckIntervalMs, 1,
    'log-retention-check-interval-ms: a positive integer is required (GREGOR_LOG_RETENTION_CHECK_INTERVAL_MS)')
  const groupSessionTimeoutMs = intervalMs(input.groupSessionTimeoutMs, defaultCoordinatorConfig.sessionTimeoutMs, 100,
    'group-session-timeout-ms: an integer of at least 100 is required (GREGOR_GROUP_SESSION_TIMEOUT_MS)')
  const groupHeartbeatIntervalMs = intervalMs(input.groupHeartbeatIntervalMs, defaultCoordinatorConfig.heartbeatIntervalMs, 10,
    'group-heartbeat-interval-ms: an integer of at least 10 is required (GREGOR_GROUP_HEARTBEAT_INTERVAL_MS)')
  if (problems.length === 0 && groupHeartbeatIntervalMs >= groupSessionTimeoutMs) {
    problems.push('group-heartbeat-interval-ms must be less than group-session-timeout-ms')
  }
  const offsetsTopicNumPartitions = intervalMs(input.offsetsTopicNumPartitions, defaultOffsetsTopicNumPartitions, 1,
    'offsets-topic-num-partitions: a positive integer is required (GREGOR_OFFSETS_TOPIC_NUM_PARTITIONS)')
  if (offsetsTopicNumPartitions > 1000) problems.push('offsets-topic-num-partitions: at most 1000')
  const offsetsTopicSegmentBytes = intervalMs(input.offsetsTopicSegmentBytes, defaultOffsetsTopicSegmentBytes, 16 * 1024,
    'offsets-topic-segment-bytes: an integer of at least 16384 is required (GREGOR_OFFSETS_TOPIC_SEGMENT_BYTES)')
  const logCleanerBackoffMs = intervalMs(input.logCleanerBackoffMs, defaultReplicationConfig.cleanerBackoffMs, 1,
    'log-cleaner-backoff-ms: a positive integer is required (GREGOR_LOG_CLEANER_BACKOFF_MS)')
  const listenerSecurityProtocols = parseListenerSecurityProtocols(input.listenerSecurityProtocolMap ?? '', listeners, problems)
  const ssl = parseSslFiles(input, listenerSecurityProtocols, problems)
  const saslEnabledMechanisms = parseSaslMechanisms(input.saslEnabledMechanisms, problems)
  const authorization = parseAuthorization(input, problems)
  if (problems.length > 0) {
    throw new GregorError(ErrorCode.INVALID_CONFIG, `invalid configuration:\n  - ${problems.join('\n  - ')}`, { details: { problems } })
  }
  return Object.freeze({ nodeId: nodeId as NodeId, clusterId, voters, listeners, advertisedListeners, listenerProtocols, autoCreateTopicsEnable, dataDir, rack: input.rack ?? '', logLevel, leaderImbalanceCheckIntervalMs, logRetentionCheckIntervalMs,
    groupSessionTimeoutMs, groupHeartbeatIntervalMs, offsetsTopicNumPartitions, offsetsTopicSegmentBytes, logCleanerBackoffMs,
    listenerSecurityProtocols, ssl, saslEnabledMechanisms, authorization,
    adminTokenFile: input.adminTokenFile === '' ? undefined : input.adminTokenFile,
    scramBootstrapFile: input.scramBootstrapFile === '' ? undefined : input.scramBootstrapFile,
  })
}

/** `sasl.enabled.mechanisms`: a non-empty list of the mechanisms Gregor implements, in the order to advertise them. */
function parseSaslMechanisms (text: string | undefined, problems: string[]): readonly SaslMechanism[] {
  if (text === undefined || text.trim() === '') return saslMechanisms
  const names = text.split(',').map((name) => name.trim().toUpperCase()).filter((name) => name !== '')
  const unknown = names.filter((name) => !(saslMechanisms as readonly string[]).includes(name))
  if (unknown.length > 0 || names.length === 0) {
    problems.push(`sasl-enabled-mechanisms: a list of ${saslMechanisms.join(', ')} (GREGOR_SASL_ENABLED_MECHANISMS); not ${unknown.join(', ')}`)
  }
  return Object.freeze([...new Set(names)].filter((name): name is SaslMechanism => (saslMechanisms as readonly string[]).includes(name)))
}

/** A true/false setting; anything else is a problem. */
function parseBoolean (text: string | undefined, fallback: boolean, problem: string, problems: string[]): boolean {
  const value = (text ?? String(fallback)).trim().toLowerCase()
  if (value !== 'true' && value !== 'false') problems.push(problem)
  return value === 'true'
}

/** The authorizer's settings; `super.users` is `;`-separated principals, each `User:<name>` (Kafka's form). */
function parseAuthorization (input: BrokerConfigInput, problems: string[]): AuthorizationConfig {
  const aclsEnabled = parseBoolean(input.aclsEnabled, false, 'acls-enabled: true or false (GREGOR_ACLS_ENABLED)', problems)
  const allowEveryoneIfNoAclFound = parseBoolean(input.allowEveryoneIfNoAclFound, false,
    'allow-everyone-if-no-acl-found: true or false (GREGOR_ALLOW_EVERYONE_IF_NO_ACL_FOUND)', problems)
  const superUsers = (input.superUsers ?? '').split(';').map((item) => item.trim()).filter((item) => item !== '')
  for (const principal of superUsers) {
    // Printable, no separator of the list; the name is what SASL authenticated (or ANONYMOUS).
    if (!/^User:[^\p{Cc};]+$/u.test(principal)) problems.push(`super-users: "${principal}" is not User:<name> (GREGOR_SUPER_USERS=User:admin;User:bob)`)
  }
  return Object.freeze({ aclsEnabled, superUsers: Object.freeze([...new Set(superUsers)]), allowEveryoneIfNoAclFound })
}
