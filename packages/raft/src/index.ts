/**
 * @gregor/raft: the Raft core (pure, synchronous, deterministic; etcd-raft shape). The application drives a
 * `RawNode` with ticks, messages and proposals and carries out its `Ready`s; `MemoryStorage` is the read-only log
 * view the core consults. Simulation and test harnesses live in `src/testing/` and are not exported here.
 */
export * from './types.js'
export { type RaftConfig, defaultRaftConfig, validateRaftConfig } from './raft-config.js'
export { MemoryStorage } from './memory-storage.js'
export { entryDataBytesMax } from './entry-size.js'
export { RawNode, type RawNodeDeps, type RaftStatus } from './raw-node.js'
export { message, emptyContext, type MessageFields } from './message.js'
