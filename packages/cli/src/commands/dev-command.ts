/**
 * `gregor dev [--dir D]`: a local three-broker cluster, each broker in its own OS process (so one can be killed),
 * on 127.0.0.1 with fixed ports: Kafka's protocol 9092-9094 (what every Kafka tutorial and tool assumes), Gregor's gRPC
 * client API 9292-9294 (the `gregor` CLI's default), inter-broker 9192-9194, admin HTTP 8081-8083 (the first of each
 * with `--kafka-port`, `--client-port`, `--broker-port`, `--admin-port`; 0 picks a private loopback address and port,
 * for tests). Prints the Kafka bootstrap servers first, then the gRPC ones, admin URLs and PIDs; Ctrl-C stops all
 * three with a controlled shutdown.
 */
import { BrokerProcesses } from '../broker-processes.js'
import { defaultDevClientPort } from './client-args.js'
import { UsageError, integerFlag, parseCommandArgs, runClientCommand } from './command-args.js'

const usage = `usage: gregor dev [--dir D] [--log-level L] [--kafka-port 9092] [--client-port 9292] [--broker-port 9192] [--admin-port 8081]
`

export async function devCommand (argv: string[]): Promise<number> {
  return await runClientCommand('dev', usage, async () => await runDev(argv))
}

async function runDev (argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    dir: { type: 'string' }, 'log-level': { type: 'string', default: 'info' },
    'kafka-port': { type: 'string' }, 'client-port': { type: 'string' }, 'broker-port': { type: 'string' }, 'admin-port': { type: 'string' },
  })
  const problems: string[] = []
  const portFlag = (name: string, text: string | undefined, fallback: number): number => {
    const value = integerFlag(name, text, problems, 0) ?? fallback
    if (value > 65533) problems.push(`--${name} must leave room for three ports (at most 65533, got ${value})`)
    return value
  }
  const ports = {
    kafka: portFlag('kafka-port', values['kafka-port'], 9092),
    client: portFlag('client-port', values['client-port'], defaultDevClientPort),
    broker: portFlag('broker-port', values['broker-port'], 9192),
    admin: portFlag('admin-port', values['admin-port'], 8081),
  }
  if (problems.length > 0) throw new UsageError(problems)
  // Listen before anything starts: a Ctrl-C that arrives while the brokers start must still stop them.
  const stopRequested = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
  const cluster = await BrokerProcesses.start({
    ...(values.dir === undefined ? {} : { dir: values.dir }),
    logLevel: values['log-level'],
    ports,
    // A dev cluster notices a killed consumer in 10 s instead of Kafka's 45 (the environment still wins).
    env: { GREGOR_GROUP_SESSION_TIMEOUT_MS: process.env.GREGOR_GROUP_SESSION_TIMEOUT_MS ?? '10000' },
  })
  process.stdout.write(`gregor dev: three brokers starting, data and logs in ${cluster.dir}\n`)
  for (const broker of cluster.brokers) {
    process.stdout.write(`  broker ${broker.nodeId}  pid ${broker.process?.pid ?? '-'}  kafka ${broker.kafkaAddress}  grpc ${broker.clientAddress}  admin ${broker.adminUrl}  log ${cluster.dir}/broker-${broker.nodeId}.log\n`)
  }
  try {
    await Promise.race([cluster.waitForReady(undefined, 60_000), stopRequested])
    process.stdout.write(`ready. kafka bootstrap servers: ${cluster.kafkaBootstrapServers}\n`)
    process.stdout.write(`      gregor (grpc) bootstrap servers: ${cluster.bootstrapServers}\n`)
    process.stdout.write(`try: kcat -b ${cluster.kafkaBootstrapServers.split(',')[0] ?? ''} -L\n`)
    process.stdout.write(`     npx gregor topics create -b ${cluster.bootstrapServers} --topic demo --partitions 3 --replication-factor 3\n`)
  } catch (error) {
    process.stderr.write(`brokers not ready: ${error instanceof Error ? error.message : String(error)} (see the logs above)\n`)
  }
  await stopRequested
  process.stdout.write('stopping the three brokers (controlled shutdown)\n')
  await cluster.stop({ keepDir: true })
  return 0
}
