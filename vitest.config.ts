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
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', ['json', { outputFile: '.vitest-results.json' }]],
  },
})
