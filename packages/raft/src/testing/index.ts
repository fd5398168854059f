/**
 * `@gregor/raft/testing`: the simulation pieces other packages share. The whole-cluster simulation (`packages/sim`)
 * runs on this same scheduler, so raft alone and the whole cluster replay seeds the same way.
 */
export { SimScheduler } from './sim-scheduler.js'
export { SimDisk, applyWrite, type DiskWrite } from './sim-disk.js'
