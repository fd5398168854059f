/**
 * The `gregor` command: dispatches to subcommands. The CLI is the only place that reads argv and environment and
 * creates the root logger.
 */

const usage = `usage: gregor <command> [options]

commands:
  broker                 run one broker (GREGOR_NODE_ID, GREGOR_CLUSTER_ID, GREGOR_VOTERS, GREGOR_LISTENERS, ...)
  dev [--dir D]          run a local three-broker cluster, each broker in its own process
  topics                 create | list | describe | delete topics
  produce                send stdin lines as records
  consume                print records (--group G: as a member of a consumer group, committing offsets)
  groups                 list | describe | delete | reset-offsets consumer groups (kafka-consumer-groups)
  users                  create | delete | list SCRAM users for SASL (kafka-configs --entity-type users)
  acls                   add | list | remove ACLs (kafka-acls)
  cluster describe       controller, quorum, brokers
  cluster watch          the same plus every partition, live, an event per change (--json)
  bench produce|consume  throughput and latency (consume --group G --consumers N: N members share the topic)
  bench failover         kill -9 of a partition leader → first acks=all ack by the new leader (--trials 10)
  bench quorum           metadata quorum: commits/s and elections after kill -9 (--trials 20 --proposals 5000)
  voter                  run a bare metadata-quorum voter (no partitions)
  healthcheck [--url U]  exit 0 if this broker's /readyz answers 200 (the container healthcheck)
  certs create --dir D   a local CA and broker/client certificates for TLS (docs/security.md)

-b and GREGOR_BOOTSTRAP_SERVERS stand for --bootstrap-server. Client commands take --ssl-ca F [--ssl-cert F
--ssl-key F] for a listener that runs SSL, and --sasl-username U --sasl-password P [--sasl-mechanism
SCRAM-SHA-512] (or GREGOR_SASL_USERNAME, GREGOR_SASL_PASSWORD, GREGOR_SASL_MECHANISM) for one that runs SASL
(docs/security.md).
`

type Command = (argv: string[]) => Promise<number>

/** Commands that make clients: they take the TLS and SASL flags (client-args.ts `takeTlsFlags`). */
const clientCommands = new Set(['topics', 'produce', 'consume', 'groups', 'cluster', 'bench', 'users', 'acls'])

// Loaded on demand: `gregor healthcheck` runs every few seconds in a container and must not load grpc, level and
// the broker to answer one HTTP request.
const commands: Record<string, Command> = {
  broker: async (argv) => await (await import('./commands/broker-command.js')).brokerCommand(argv),
  dev: async (argv) => await (await import('./commands/dev-command.js')).devCommand(argv),
  topics: async (argv) => await (await import('./commands/topics-command.js')).topicsCommand(argv),
  produce: async (argv) => await (await import('./commands/produce-command.js')).produceCommand(argv),
  consume: async (argv) => await (await import('./commands/consume-command.js')).consumeCommand(argv),
  groups: async (argv) => await (await import('./commands/groups-command.js')).groupsCommand(argv),
  users: async (argv) => await (await import('./commands/users-command.js')).usersCommand(argv),
  acls: async (argv) => await (await import('./commands/acls-command.js')).aclsCommand(argv),
  cluster: async (argv) => await (await import('./commands/cluster-command.js')).clusterCommand(argv),
  voter: async (argv) => await (await import('./voter-command.js')).voterCommand(argv),
  healthcheck: async (argv) => await (await import('./commands/healthcheck-command.js')).healthcheckCommand(argv),
  certs: async (argv) => await (await import('./commands/certs-command.js')).certsCommand(argv),
  bench: async (argv) => {
    if (argv[0] === 'quorum') return await (await import('./bench/quorum-bench.js')).quorumBench(argv.slice(1))
    if (argv[0] === 'failover') return await (await import('./bench/failover-bench.js')).failoverBench(argv.slice(1))
    return await (await import('./commands/bench-client-command.js')).benchClientCommand(argv)
  },
}

export async function main (argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '-h' || name === '--help') {
    process.stdout.write(usage)
    return name === undefined ? 2 : 0
  }
  const command = commands[name]
  if (command === undefined) {
    process.stderr.write(`unknown command: ${name}\n${usage}`)
    return 2
  }
  try {
    const args = clientCommands.has(name) ? await (await import('./commands/client-args.js')).takeTlsFlags(rest) : rest
    return await command(args)
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
    return error instanceof Error && error.name === 'UsageError' ? 2 : 1
  }
}
