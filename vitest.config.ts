// Tests run against the TypeScript sources: `@gregor/<pkg>` resolves to `packages/<pkg>/src/index.ts`, so a stale
// `dist/` can never be what a unit test exercises. (Multi-process tests in `test/` spawn the built CLI, which
// `npm test` rebuilds first.)
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url))
// Exact matches only (a prefix alias would turn `@gregor/broker/config` into `.../index.ts/config`); subpath
// exports are listed with their sources.
const alias = [
  { find: /^@gregor\/broker\/config$/, replacement: `${packagesDir}broker/src/broker-config.ts` },
  { find: /^@gregor\/raft\/testing$/, replacement: `${packagesDir}raft/src/testing/index.ts` },
  ...readdirSync(packagesDir).map((name) => ({ find: new RegExp(`^@gregor/${name}$`), replacement: `${packagesDir}${name}/src/index.ts` })),
]

export default defineConfig({
  resolve: { alias },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', ['json', { outputFile: '.vitest-results.json' }]],
    // Two groups, one after the other. In-process tests first, two files at a time: they are CPU-bound (the
    // simulations) and fast, and on 2 cores one worker left the second core idle for half of them. Then the
    // multi-process tests (broker processes, docker, kcat) one file at a time, as before: each runs three brokers
    // and times failovers, and two at once on 2 cores would test the machine's load rather than Gregor.
    projects: [
      { extends: true, test: { name: 'in-process', include: ['packages/*/src/**/*.test.ts'], maxWorkers: 2, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'processes', include: ['test/**/*.test.ts'], maxWorkers: 1, sequence: { groupOrder: 1 } } },
    ],
  },
})
