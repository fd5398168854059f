export * from './log/index.js'
export * from './raft-store.js'
