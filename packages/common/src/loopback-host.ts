/**
 * A loopback address of its own for each process that starts listeners in tests and benchmarks, so that concurrent
 * processes never collide: `127.<block + pid bits 16-21>.<pid bits 8-15>.<pid bits 0-7>` (a Linux pid fits in 22
 * bits, so one block of 64 second octets holds every pid). Pure: the caller passes its pid.
 * Blocks in use: 64 for @gregor/cli's process launchers, 128 for in-process broker tests.
 */
export function loopbackHost (pid: number, block: 64 | 128): string {
  return `127.${block + ((pid >> 16) & 63)}.${(pid >> 8) & 255}.${pid & 255}`
}
