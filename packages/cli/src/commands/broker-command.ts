/**
 * `gregor broker`: runs one broker until SIGTERM/SIGINT, then shuts down in a controlled way (leadership moves
 * away before the process exits). Flags override `GREGOR_*` environment variables; an invalid configuration
 * prints every problem and exits with code 2; a broker that cannot start (a listener's port taken, a data directory
 * it cannot write) says why and exits with code 1.
 */
import { parseArgs } from 'node:util'
import { exitOnStartFailure } from '../exit-on-start-failure.js'
import { createRootLogger } from '../root-logger.js'
import { Broker, validateBrokerConfig, type BrokerConfigInput } from '@gregor/broker'
import { isGregorError } from '@gregor/common'

const flags = {
  'node-id': 'GREGOR_NODE_ID',
  'cluster-id': 'GREGOR_CLUSTER_ID',
  voters: 'GREGOR_VOTERS',
  listeners: 'GREGOR_LISTENERS',
  'advertised-listeners': 'GREGOR_ADVERTISED_LISTENERS',
  'listener-protocol-map': 'GREGOR_LISTENER_PROTOCOL_MAP',
  'auto-create-topics-enable': 'GREGOR_AUTO_CREATE_TOPICS_ENABLE',
  'data-dir': 'GREGOR_DATA_DIR',
  rack: 'GREGOR_RACK',
  'log-level': 'GREGOR_LOG_LEVEL',
  'leader-imbalance-check-interval-ms': 'GREGOR_LEADER_IMBALANCE_CHECK_INTERVAL_MS',
  'log-retention-check-interval-ms': 'GREGOR_LOG_RETENTION_CHECK_INTERVAL_MS',
  'group-session-timeout-ms': 'GREGOR_GROUP_SESSION_TIMEOUT_MS',
  'group-heartbeat-interval-ms': 'GREGOR_GROUP_HEARTBEAT_INTERVAL_MS',
  'offsets-topic-num-partitions': 'GREGOR_OFFSETS_TOPIC_NUM_PARTITIONS',
  'offsets-topic-segment-bytes': 'GREGOR_OFFSETS_TOPIC_SEGMENT_BYTES',
  'log-cleaner-backoff-ms': 'GREGOR_LOG_CLEANER_BACKOFF_MS',
  'listener-security-protocol-map': 'GREGOR_LISTENER_SECURITY_PROTOCOL_MAP',
  'ssl-cert-file': 'GREGOR_SSL_CERT_FILE',
  'ssl-key-file': 'GREGOR_SSL_KEY_FILE',
  'ssl-ca-file': 'GREGOR_SSL_CA_FILE',
  'ssl-client-auth': 'GREGOR_SSL_CLIENT_AUTH',
  'sasl-enabled-mechanisms': 'GREGOR_SASL_ENABLED_MECHANISMS',
  'acls-enabled': 'GREGOR_ACLS_ENABLED',
  'super-users': 'GREGOR_SUPER_USERS',
  'allow-everyone-if-no-acl-found': 'GREGOR_ALLOW_EVERYONE_IF_NO_ACL_FOUND',
  'admin-token-file': 'GREGOR_ADMIN_TOKEN_FILE',
  'scram-bootstrap-file': 'GREGOR_SCRAM_BOOTSTRAP_FILE',
} as const

export async function brokerCommand (argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(Object.keys(flags).map((name) => [name, { type: 'string' as const }])),
    strict: true,
  })
  const pick = (flag: keyof typeof flags): string | undefined => (values[flag] as string | undefined) ?? process.env[flags[flag]]
  const input: BrokerConfigInput = {
    nodeId: pick('node-id'), clusterId: pick('cluster-id'), voters: pick('voters'), listeners: pick('listeners'),
    advertisedListeners: pick('advertised-listeners'), listenerProtocolMap: pick('listener-protocol-map'),
    autoCreateTopicsEnable: pick('auto-create-topics-enable'), dataDir: pick('data-dir'), rack: pick('rack'), logLevel: pick('log-level'),
    leaderImbalanceCheckIntervalMs: pick('leader-imbalance-check-interval-ms'),
    logRetentionCheckIntervalMs: pick('log-retention-check-interval-ms'),
    groupSessionTimeoutMs: pick('group-session-timeout-ms'),
    groupHeartbeatIntervalMs: pick('group-heartbeat-interval-ms'),
    offsetsTopicNumPartitions: pick('offsets-topic-num-partitions'),
    offsetsTopicSegmentBytes: pick('offsets-topic-segment-bytes'),
    logCleanerBackoffMs: pick('log-cleaner-backoff-ms'),
    listenerSecurityProtocolMap: pick('listener-security-protocol-map'),
    sslCertFile: pick('ssl-cert-file'), sslKeyFile: pick('ssl-key-file'), sslCaFile: pick('ssl-ca-file'), sslClientAuth: pick('ssl-client-auth'),
    saslEnabledMechanisms: pick('sasl-enabled-mechanisms'),
    aclsEnabled: pick('acls-enabled'), superUsers: pick('super-users'), allowEveryoneIfNoAclFound: pick('allow-everyone-if-no-acl-found'),
    adminTokenFile: pick('admin-token-file'), scramBootstrapFile: pick('scram-bootstrap-file'),
  }
  let config
  try {
    config = validateBrokerConfig(input)
  } catch (error) {
    process.stderr.write(`${isGregorError(error) ? error.message : String(error)}\n`)
    return 2
  }
  const logger = createRootLogger({ level: config.logLevel, base: { nodeId: config.nodeId, clusterId: config.clusterId } })
  logger.info({ config: { ...config, voters: Object.fromEntries(config.voters), listenerProtocols: Object.fromEntries(config.listenerProtocols), listenerSecurityProtocols: Object.fromEntries(config.listenerSecurityProtocols) } }, 'effective config')
  const broker = new Broker(config, logger)
  const stopping = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'))
    process.once('SIGINT', () => resolve('SIGINT'))
  })
  try {
    await broker.start()
  } catch (error) {
    exitOnStartFailure(logger, 'broker', error)
  }
  const signal = await stopping
  logger.info({ signal }, 'shutdown requested')
  await broker.stop()
  logger.flush()
  // Stopped means gone: a peer's half-closed HTTP/2 session must not keep the process (and `docker stop`) waiting.
  process.exit(0)
}
