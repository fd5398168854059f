/**
 * The chaos run's network: one network namespace per "host" (three brokers and one for the clients), joined by a
 * bridge, each host with its own address, and the iptables rules that cut them apart.
 *
 * Owns: the bridge `gchaos0` (10.77.0.254, where the chaos driver itself sits), the namespaces `gchaos-<host>`, and
 * in each namespace one dedicated chain `GREGOR_CHAOS` that INPUT and OUTPUT jump to. Every fault is a DROP rule in
 * that chain (never in a built-in chain), so healing is one flush per namespace and teardown is flush + unhook +
 * delete + `ip netns del`.
 *
 * Invariants: this module only ever runs inside the private network and mount namespace that chaos.mjs creates with
 * `unshare --net --mount` (it refuses otherwise), so nothing it creates is visible to the host, and whatever a crash
 * leaves behind vanishes with the last process of that namespace. Every `ip`/`iptables` call is synchronous and
 * bounded by a timeout.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'

export const chain = 'GREGOR_CHAOS'
const ipBin = '/usr/sbin/ip'
const iptablesBin = '/usr/sbin/iptables'
const bridge = 'gchaos0'
const subnetPrefix = '10.77.0'
export const driverAddress = `${subnetPrefix}.254`
const commandTimeoutMs = 10_000

function run (file, args) {
  return execFileSync(file, args, { encoding: 'utf8', timeout: commandTimeoutMs, stdio: ['ignore', 'pipe', 'pipe'] })
}

export class NetworkLab {
  /** host name → { namespace, address } */
  hosts = new Map()
  #torn = false

  /**
   * Creates the bridge and one namespace per host, `hostNames[i]` at 10.77.0.(i+1). Must run inside the private
   * namespace of chaos.mjs (`GREGOR_CHAOS_PRIVATE_NETNS=1`): this is what keeps every rule off the host.
   */
  static create (hostNames) {
    if (process.env.GREGOR_CHAOS_PRIVATE_NETNS !== '1') throw new Error('NetworkLab must run inside chaos.mjs\'s private network namespace')
    const lab = new NetworkLab()
    // `ip netns add` bind-mounts under /run/netns: a tmpfs of this private mount namespace, so the host never sees it.
    mkdirSync('/run/netns', { recursive: true })
    execFileSync('/bin/mount', ['--make-rprivate', '/'], { timeout: commandTimeoutMs })
    execFileSync('/bin/mount', ['-t', 'tmpfs', 'tmpfs', '/run/netns'], { timeout: commandTimeoutMs })
    run(ipBin, ['link', 'set', 'lo', 'up'])
    run(ipBin, ['link', 'add', bridge, 'type', 'bridge'])
    run(ipBin, ['link', 'set', bridge, 'type', 'bridge', 'forward_delay', '0'])
    run(ipBin, ['addr', 'add', `${driverAddress}/24`, 'dev', bridge])
    run(ipBin, ['link', 'set', bridge, 'up'])
    hostNames.forEach((name, i) => {
      const namespace = `gchaos-${name}`
      const address = `${subnetPrefix}.${i + 1}`
      const veth = `gcv${i + 1}`
      run(ipBin, ['netns', 'add', namespace])
      run(ipBin, ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace])
      run(ipBin, ['link', 'set', veth, 'master', bridge, 'up'])
      run(ipBin, ['-n', namespace, 'addr', 'add', `${address}/24`, 'dev', 'eth0'])
      run(ipBin, ['-n', namespace, 'link', 'set', 'eth0', 'up'])
      run(ipBin, ['-n', namespace, 'link', 'set', 'lo', 'up'])
      lab.hosts.set(name, { namespace, address })
      lab.#iptables(name, ['-N', chain])
      lab.#iptables(name, ['-I', 'INPUT', '-j', chain])
      lab.#iptables(name, ['-I', 'OUTPUT', '-j', chain])
    })
    return lab
  }

  address (host) { return this.#host(host).address }

  /** The argv prefix that runs a command inside `host`'s namespace; `ip netns exec` execs, so the PID is the command's. */
  execPrefix (host) { return [ipBin, 'netns', 'exec', this.#host(host).namespace] }

  /** Packets from `from` never reach `to` (one way: `to` → `from` still flows). */
  dropOneWay (from, to) {
    this.#iptables(to, ['-A', chain, '-s', this.address(from), '-j', 'DROP'])
  }

  /** Nothing flows between `a` and `b`, in either direction. */
  dropBoth (a, b) {
    this.dropOneWay(a, b)
    this.dropOneWay(b, a)
  }

  /** Removes every fault rule (the chains stay, empty, until teardown). */
  heal () {
    for (const host of this.hosts.keys()) this.#iptables(host, ['-F', chain])
  }

  /** The GREGOR_CHAOS rules in force now, as `iptables -S` prints them, over every host. */
  rules () {
    const lines = []
    for (const [host, { namespace }] of this.hosts) {
      let text = ''
      try { text = run(ipBin, ['netns', 'exec', namespace, iptablesBin, '-S']) } catch { continue }
      for (const line of text.split('\n')) if (line.includes(chain)) lines.push(`${host}: ${line}`)
    }
    return lines
  }

  /**
   * Flushes, unhooks and deletes every chain, checks with `iptables -S` that no GREGOR_CHAOS line is left, then
   * deletes the namespaces and the bridge. Safe to call twice and after a partial create; never throws.
   * Returns the rule lines still present after the flush (should be none).
   */
  teardown () {
    if (this.#torn) return []
    this.#torn = true
    for (const host of this.hosts.keys()) {
      for (const args of [['-F', chain], ['-D', 'INPUT', '-j', chain], ['-D', 'OUTPUT', '-j', chain], ['-X', chain]]) {
        try { this.#iptables(host, args) } catch { /* already gone */ }
      }
    }
    const left = this.rules()
    for (const { namespace } of this.hosts.values()) {
      try { run(ipBin, ['netns', 'del', namespace]) } catch { /* already gone */ }
    }
    try { run(ipBin, ['link', 'del', bridge]) } catch { /* already gone */ }
    return left
  }

  #host (host) {
    const found = this.hosts.get(host)
    if (found === undefined) throw new Error(`no host ${host}`)
    return found
  }

  #iptables (host, args) {
    run(ipBin, ['netns', 'exec', this.#host(host).namespace, iptablesBin, '-w', '5', ...args])
  }
}
