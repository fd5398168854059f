/**
 * Configuration of a bare metadata-quorum voter, read from flags and `GREGOR_*` environment variables (flags win),
 * validated as a whole: every problem is listed, none is reported alone.
 */
import { parseVoters } from '@gregor/broker'
import { ErrorCode, GregorError, type NodeId } from '@gregor/common'

export interface VoterConfig {
  readonly nodeId: NodeId
  readonly clusterId: string
  readonly voters: ReadonlyMap<NodeId, string>
  readonly listenAddress: string
  readonly dataDir: string
  readonly logLevel: string
}

export type VoterConfigInput = Partial<Record<'node-id' | 'cluster-id' | 'voters' | 'listen' | 'data-dir' | 'log-level', string>>

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export function voterConfigFromEnv (env: NodeJS.ProcessEnv): VoterConfigInput {
  const pick = (name: string): string | undefined => env[name]
  return {
    'node-id': pick('GREGOR_NODE_ID'),
    'cluster-id': pick('GREGOR_CLUSTER_ID'),
    voters: pick('GREGOR_VOTERS'),
    listen: pick('GREGOR_LISTEN'),
    'data-dir': pick('GREGOR_DATA_DIR'),
    'log-level': pick('GREGOR_LOG_LEVEL'),
  }
}

export function validateVoterConfig (input: VoterConfigInput): VoterConfig {
  const problems: string[] = []
  const nodeId = Number(input['node-id'])
  if (!Number.isInteger(nodeId) || nodeId < 1) problems.push('node-id: a positive integer is required (GREGOR_NODE_ID)')
  const clusterId = input['cluster-id'] ?? ''
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(clusterId)) problems.push('cluster-id: 1-64 characters of [A-Za-z0-9._-] required (GREGOR_CLUSTER_ID)')
  const voters = parseVoters(input.voters ?? '', problems)
  if (Number.isInteger(nodeId) && voters.size > 0 && !voters.has(nodeId as NodeId)) problems.push(`voters: this node (${nodeId}) is not in the voter list`)
  const dataDir = input['data-dir'] ?? ''
  if (dataDir === '') problems.push('data-dir: required (GREGOR_DATA_DIR)')
  const logLevel = input['log-level'] ?? 'info'
  if (!logLevels.includes(logLevel)) problems.push(`log-level: one of ${logLevels.join(', ')}`)
  const ownAddress = voters.get(nodeId as NodeId) ?? ''
  const listenAddress = input.listen ?? (ownAddress === '' ? '' : `0.0.0.0:${ownAddress.split(':')[1] ?? ''}`)
  if (problems.length > 0) {
    throw new GregorError(ErrorCode.INVALID_CONFIG, `invalid configuration:\n  - ${problems.join('\n  - ')}`, { details: { problems } })
  }
  return Object.freeze({ nodeId: nodeId as NodeId, clusterId, voters, listenAddress, dataDir, logLevel })
}
