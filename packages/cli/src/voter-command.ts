/**
 * `gregor voter`: runs one bare metadata-quorum voter (raft only, no partitions) until SIGTERM/SIGINT.
 * The full broker (`gregor broker`) embeds the same voter; this command exists to run and test the quorum alone.
 */
import { parseArgs } from 'node:util'
import { exitOnStartFailure } from './exit-on-start-failure.js'
import { createRootLogger } from './root-logger.js'
import { QuorumVoter } from '@gregor/broker'
import { isGregorError } from '@gregor/common'
import { validateVoterConfig, voterConfigFromEnv, type VoterConfigInput } from './voter-config.js'

export async function voterCommand (argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'node-id': { type: 'string' }, 'cluster-id': { type: 'string' }, voters: { type: 'string' },
      listen: { type: 'string' }, 'data-dir': { type: 'string' }, 'log-level': { type: 'string' },
    },
    strict: true,
  })
  const fromEnv = voterConfigFromEnv(process.env)
  const input: VoterConfigInput = { ...fromEnv }
  for (const [key, value] of Object.entries(values)) if (typeof value === 'string') input[key as keyof VoterConfigInput] = value
  let config
  try {
    config = validateVoterConfig(input)
  } catch (error) {
    process.stderr.write(`${isGregorError(error) ? error.message : String(error)}\n`)
    return 2
  }
  const logger = createRootLogger({ level: config.logLevel, base: { nodeId: config.nodeId, clusterId: config.clusterId } })
  logger.info({ config: { ...config, voters: Object.fromEntries(config.voters) } }, 'effective config')
  const voter = new QuorumVoter(config, logger)
  try {
    await voter.start()
  } catch (error) {
    exitOnStartFailure(logger, 'voter', error)
  }
  await new Promise<void>((resolve) => {
    const onSignal = (signal: string): void => { logger.info({ signal }, 'shutdown requested'); resolve() }
    process.once('SIGTERM', onSignal)
    process.once('SIGINT', onSignal)
  })
  await voter.stop()
  logger.flush()
  return 0
}
