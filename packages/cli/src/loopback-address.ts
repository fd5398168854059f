/**
 * Listening addresses for the processes that the tests, the benchmarks and `gregor dev --client-port 0` start,
 * chosen so that nothing else can take them between choosing and binding.
 *
 * Why not an OS-picked port (listen on 0, close, pass the number on): that is an ephemeral port, and until the child
 * process binds it, any outgoing connection on the machine may take it as its source port. The child then fails with
 * EADDRINUSE and the cluster never becomes ready. With many test files sharing two cores and opening connections
 * all the time, that happened.
 *
 * Invariants: each calling process gets its own loopback address, `127.64.0.0/10` indexed by its pid (a Linux pid
 * fits in 22 bits), so processes never collide with each other. Ports are drawn from a counter below Linux's
 * ephemeral range (32768-60999), so neither connect() nor bind(0) ever hands one out. Within one process, an address
 * is not handed out again until 12,000 later calls.
 */
import { loopbackHost as hostOf } from '@gregor/common'

const portFirst = 20_000
const portCount = 12_000
let calls = 0

/** The loopback host of this process (or of `pid`): 127.64.0.0 + pid. */
export function loopbackHost (pid = process.pid): string {
  return hostOf(pid, 64)
}

/** A `host:port` on this process's own loopback address that no other process and no earlier call was given. */
export function loopbackAddress (): string {
  const port = portFirst + (calls++ % portCount)
  return `${loopbackHost()}:${port}`
}
