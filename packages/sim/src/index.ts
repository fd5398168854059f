/**
 * @gregor/sim: the whole-cluster deterministic simulation (ARCHITECTURE.md §3, §4). Imported by nothing; run it with
 * `npm run sim:cluster`, and `npm test` runs a few hundred seeds through `cluster-simulation.test.ts`.
 */
export { ClusterSimulation, runClusterSimulation, type ClusterSimFailure, type ClusterSimResult } from './cluster-simulation.js'
export { drawClusterSimParams, type ClusterSimParams, type ClusterNemesisWeights } from './cluster-sim-params.js'
export { ClusterInvariants, ClusterInvariantViolation } from './cluster-invariants.js'
