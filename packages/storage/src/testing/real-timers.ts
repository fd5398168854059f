/**
 * Real time for the storage package's own tests and test processes, under the names they use: a monotonic clock and
 * timers that do not keep the process alive. The implementation is the production one (`../system/system-timers.ts`),
 * not a copy. Not exported from the package index.
 */
export { systemMonotonicClock as realClock, systemTimers as realTimers } from '../system/system-timers.js'
