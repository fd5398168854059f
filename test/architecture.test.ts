/**
 * Enforces ARCHITECTURE.md §3: imports point down the package stack, and the pure packages do no I/O.
 *
 * It reads every source file's import specifiers (static `import`/`export ... from` and dynamic `import()`), so a new
 * file cannot quietly add an upward arrow or reach for the clock. Globals that bypass imports (`Date`, `setTimeout`,
 * `Math.random`, `process`) are checked by name in the pure packages.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'

const packagesDir = new URL('../packages/', import.meta.url).pathname

/** Which @gregor packages each package may import (the arrows of §3, transitively closed). */
const allowed: Record<string, readonly string[]> = {
  common: [],
  raft: ['common'],
  records: ['common'],
  metadata: ['common', 'raft', 'records'],
  storage: ['common', 'raft', 'records'],
  coordinator: ['common'],
  'kafka-protocol': ['common'],
  protocol: ['common', 'raft', 'records', 'metadata'],
  broker: ['common', 'raft', 'records', 'metadata', 'storage', 'coordinator', 'kafka-protocol', 'protocol'],
  client: ['common', 'records', 'protocol'],
  cli: ['common', 'raft', 'records', 'metadata', 'storage', 'coordinator', 'kafka-protocol', 'protocol', 'broker', 'client'],
  // The whole-cluster simulation sits at the top: it imports every server-side package, and nothing imports it.
  sim: ['common', 'raft', 'records', 'metadata', 'storage', 'coordinator', 'kafka-protocol', 'protocol', 'broker'],
}
const purePackages = ['common', 'raft', 'records', 'metadata', 'coordinator', 'kafka-protocol']
/**
 * Command-line entry points inside pure packages: they only read argv, time the run and print. Nothing imports
 * them (checked below), so the purity of the code they drive is unaffected.
 */
const entryPoints = new Set(['raft/src/testing/sim-cli.ts'])
/**
 * The broker's logic folders (ARCHITECTURE.md §3): they get clock, timers, randomness, network and files injected, so
 * the same code runs under the whole-cluster simulation. Production wiring lives in the composition root
 * (`broker.ts`, `broker/src/system/`, `broker/src/transport/`).
 */
const injectedFolders = [
  'storage/src/log',
  'broker/src/replica',
  'broker/src/group-coordinator',
  'broker/src/controller',
  'broker/src/metadata',
  'broker/src/raft-driver.ts',
  'broker/src/metadata-quorum.ts',
  'broker/src/broker-node.ts',
  'broker/src/producer-id-allocator.ts',
]
/** What the injected folders may not import: transports, files and timers. */
const injectedForbidden = /^(node:)?(fs|fs\/promises|net|http|http2|https|dgram|timers|timers\/promises|perf_hooks|child_process|worker_threads)$|^@grpc\/|^level|^classic-level/
/** Ambient clocks, timers and randomness; a call through an injected object (`timers.setTimeout`) is fine. */
const injectedAmbient = /(?<![.\w#])(Date\.now|new Date\(\)|setTimeout|setInterval|setImmediate|Math\.random|performance\.now)\b(?!\s*\(\s*\w+\??\s*:)/
/** Modules that do I/O, or that bring clocks, timers and transports with them. */
const ioModule = /^(node:)?(fs|fs\/promises|net|http|http2|https|dgram|child_process|worker_threads|timers|timers\/promises|os|cluster|dns|tls|readline|perf_hooks)$|^@grpc\/|^protobufjs|^level|^classic-level|^pino/
/** Ambient nondeterminism that needs no import. */
// A method declared with these names (`setTimeout (callback: () => void, ...)` in an interface) is not a use.
const ambient = /\b(Date\.now|new Date\(|setTimeout|setInterval|setImmediate|Math\.random|performance\.now|process\.)(?!\s*\(\s*\w+\??\s*:)/
// Compression codecs are pure computation over buffers (zlib and napi codecs, no files, clock or sockets).
const pureAllowed = /^(node:)?(zlib|assert|assert\/strict|buffer|util)$|^lz4|^snappy|^@node-rs\/crc32|^@mongodb-js\/zstd|^@toondepauw\/node-zstd/

/** node:crypto's deterministic functions, which a pure package may use (SCRAM's key schedule in @gregor/metadata). */
const pureCryptoNames: ReadonlySet<string> = new Set(['createHash', 'createHmac', 'timingSafeEqual'])

function sourceFiles (dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts') ? [path] : []
  })
}

function importsOf (source: string): string[] {
  const specifiers: string[] = []
  const pattern = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g
  for (const match of source.matchAll(pattern)) specifiers.push((match[1] ?? match[2] ?? match[3]) as string)
  return specifiers
}

const packages = readdirSync(packagesDir).filter((name) => statSync(join(packagesDir, name)).isDirectory())

describe('package dependency direction', () => {
  test('every package is placed in the stack', () => {
    expect(packages.filter((name) => !(name in allowed))).toEqual([])
  })

  for (const pkg of packages) {
    test(`${pkg} imports only packages below it`, () => {
      const violations: string[] = []
      for (const file of sourceFiles(join(packagesDir, pkg, 'src'))) {
        for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
          const target = /^@gregor\/([^/]+)/.exec(specifier)?.[1]
          if (target !== undefined && target !== pkg && !(allowed[pkg] ?? []).includes(target)) {
            violations.push(`${file}: ${specifier}`)
          }
        }
      }
      expect(violations).toEqual([])
    })
  }

  for (const pkg of purePackages.filter((name) => packages.includes(name))) {
    test(`${pkg} is pure: no I/O module, timer, clock or randomness`, () => {
      const violations: string[] = []
      for (const file of sourceFiles(join(packagesDir, pkg, 'src'))) {
        if (entryPoints.has(file.slice(packagesDir.length))) continue
        const source = readFileSync(file, 'utf8')
        for (const specifier of importsOf(source)) {
          const external = !specifier.startsWith('.') && !specifier.startsWith('@gregor/')
          if (/^(node:)?crypto$/.test(specifier)) continue // checked below: hashing only
          if (ioModule.test(specifier) || (external && !pureAllowed.test(specifier))) violations.push(`${file}: ${specifier}`)
        }
        // node:crypto's hashes are pure computation; its randomness (randomBytes, randomUUID, ...) and thread-pool
        // work (pbkdf2, scrypt) are not, so a pure package may import only these names.
        for (const match of source.matchAll(/import\s*(?:type\s*)?([^'"]*?)\s*from\s*['"](?:node:)?crypto['"]/g)) {
          const names = /^\{([^}]*)\}$/.exec((match[1] as string).trim())?.[1]?.split(',').map((name) => name.trim()).filter((name) => name !== '')
          const impure = names === undefined ? ['(not named imports)'] : names.filter((name) => !pureCryptoNames.has(name.replace(/^type\s+/, '')))
          if (impure.length > 0) violations.push(`${file}: node:crypto ${impure.join(', ')}`)
        }
        const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
        const hit = ambient.exec(code)
        if (hit !== null) violations.push(`${file}: ${hit[0]}`)
      }
      expect(violations).toEqual([])
    })
  }

  for (const folder of injectedFolders) {
    test(`${folder} takes its clock, timers, network and files injected`, () => {
      const violations: string[] = []
      const path = join(packagesDir, folder)
      for (const file of statSync(path).isDirectory() ? sourceFiles(path) : [path]) {
        if (/\/testing\//.test(file)) continue
        const source = readFileSync(file, 'utf8')
        for (const specifier of importsOf(source)) if (injectedForbidden.test(specifier)) violations.push(`${file}: ${specifier}`)
        const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
        const hit = injectedAmbient.exec(code)
        if (hit !== null) violations.push(`${file}: ${hit[0]}`)
      }
      expect(violations).toEqual([])
    })
  }

  test('nothing imports the simulation', () => {
    const importers = packages.filter((pkg) => pkg !== 'sim').flatMap((pkg) => sourceFiles(join(packagesDir, pkg, 'src'))
      .filter((file) => importsOf(readFileSync(file, 'utf8')).some((specifier) => specifier.startsWith('@gregor/sim'))))
    expect(importers).toEqual([])
  })

  test('no module imports a command-line entry point', () => {
    const importers = packages.flatMap((pkg) => sourceFiles(join(packagesDir, pkg, 'src'))
      .filter((file) => importsOf(readFileSync(file, 'utf8')).some((specifier) => /sim-cli(\.js)?$/.test(specifier))))
    expect(importers).toEqual([])
  })

  test('the checker itself sees an upward import and a clock', () => {
    expect(importsOf("import { x } from '@gregor/broker'\nconst m = await import('node:fs')")).toEqual(['@gregor/broker', 'node:fs'])
    expect(ambient.test('const t = Date.now()')).toBe(true)
    expect(injectedAmbient.test('const handle = setTimeout(fire, 10)')).toBe(true)
    expect(injectedAmbient.test('const handle = this.#timers.setTimeout(fire, 10)')).toBe(false)
    expect(injectedForbidden.test('@grpc/grpc-js')).toBe(true)
    expect(ambient.test('  setTimeout (callback: () => void, delayMs: number): TimerHandle')).toBe(false)
  })
})
