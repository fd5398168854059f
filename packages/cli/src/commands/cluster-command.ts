/**
 * `gregor cluster describe`: cluster id, active controller, metadata-quorum state (raft term, leader, commit and
 * applied index) and every broker with its address, state and partition/leader counts (`DescribeCluster`).
 * `gregor cluster watch` (cluster-watch-command.ts): the same plus every partition, live, with an event per change.
 */
import { Admin, type BrokerDescription } from '@gregor/client'
import { UsageError, bootstrapOption, bootstrapServers, parseCommandArgs, runClientCommand, tlsOption } from './client-args.js'
import { writeLine } from './client-output.js'
import { clusterWatchCommand } from './cluster-watch-command.js'

const usage = `usage: gregor cluster describe [--json] [-b servers]
       gregor cluster watch [--json] [--interval-ms 1000] [-b servers]
`

export async function clusterCommand (argv: string[]): Promise<number> {
  return await runClientCommand('cluster', usage, async () => {
    const [action, ...rest] = argv
    if (action === 'watch') return await clusterWatchCommand(rest)
    if (action !== 'describe') throw new UsageError([action === undefined ? 'missing action' : `unknown action '${action}'`])
    const { values } = parseCommandArgs(rest, { ...bootstrapOption, json: { type: 'boolean' } })
    const admin = new Admin({ bootstrapServers: bootstrapServers(values['bootstrap-server']), ...tlsOption() })
    try {
      const cluster = await admin.describeCluster()
      if (values.json === true) {
        await writeLine(JSON.stringify({ ...cluster, brokers: cluster.brokers.map((broker) => ({ ...broker, state: brokerState(broker) })) }))
        return 0
      }
      await writeLine(`ClusterId: ${cluster.clusterId}`)
      await writeLine(`ControllerId: ${cluster.controllerId < 0 ? 'none' : cluster.controllerId}`)
      await writeLine(`Raft: Term: ${cluster.raftTerm}  LeaderId: ${cluster.raftLeaderId < 0 ? 'none' : cluster.raftLeaderId}  ` +
        `CommitIndex: ${cluster.raftCommitIndex}  AppliedIndex: ${cluster.raftAppliedIndex}`)
      await writeLine('Brokers:')
      const rows = [['ID', 'ADDRESS', 'RACK', 'STATE', 'PARTITIONS', 'LEADERS'], ...cluster.brokers.map((broker) => [
        String(broker.brokerId), `${broker.host}:${broker.port}`, broker.rack === '' ? '-' : broker.rack, brokerState(broker),
        String(broker.partitionCount), String(broker.leaderCount),
      ])]
      const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? []
      for (const row of rows) await writeLine(`  ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()}`)
      return 0
    } finally {
      admin.close()
    }
  })
}

function brokerState (broker: BrokerDescription): string {
  if (broker.shuttingDown) return 'shutting-down'
  return broker.fenced ? 'fenced' : 'active'
}
