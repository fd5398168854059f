/**
 * Test doubles for composing brokers in one process (unit tests here, the whole-cluster simulation in packages/sim):
 * an in-memory raft store with crash semantics, an in-process controller channel and raft network. Not part of the
 * production entry point (`@gregor/broker`); meant for a `@gregor/broker/testing` entry.
 */
export { MemoryRaftStore } from './memory-raft-store.js'
export { InProcessControllerChannel, type InProcessControllerChannelOptions } from './in-process-controller-channel.js'
export { InProcessRaftNetwork, type RaftEndpoint } from './in-process-raft-network.js'
export { InProcessFetchTransport } from '../replica/testing/in-process-fetch-transport.js'
