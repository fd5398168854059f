/**
 * docker-compose.yml as Debian's docker-compose reads it, without an engine: `config -q` validates it, and the
 * normalized form has what the issue asks of it (three brokers, one volume each, distinct host ports, healthchecks,
 * no restart policy, a static voter list). Runs on every `npm test`; installs docker-compose when missing (root).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'

const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
const composeFile = join(repoRoot, 'docker-compose.yml')

function compose (...args: string[]): string {
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status !== 0) {
    spawnSync('bash', [join(repoRoot, 'scripts/docker/install-engine.sh')], { stdio: 'inherit' })
  }
  return execFileSync('docker-compose', ['-f', composeFile, ...args], { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent' } })
}

describe('docker-compose.yml', () => {
  test('validates with docker-compose config -q and declares three brokers as the issue asks', () => {
    expect(compose('config', '-q')).toBe('')
    expect(compose('config', '--services').trim().split('\n').sort()).toEqual(['broker-1', 'broker-2', 'broker-3'])
    const normalized = compose('config')
    for (const broker of [1, 2, 3]) {
      expect(normalized).toContain(`broker-${broker}-data:/var/lib/gregor`)
      expect(normalized).toContain(`published: ${broker}9092`) // Kafka's protocol, from the host
      expect(normalized).toContain(`published: ${broker}9292`) // Gregor's gRPC API, from the host
      expect(normalized).toContain(`GREGOR_NODE_ID: '${broker}'`)
    }
    expect(normalized).toContain('GREGOR_VOTERS: 1@broker-1:9093,2@broker-2:9093,3@broker-3:9093')
    expect(normalized).toContain('GREGOR_LISTENER_PROTOCOL_MAP: KAFKA:kafka,HOST:kafka,CLIENT:grpc,HOST_GRPC:grpc')
    expect(normalized).toMatch(/healthcheck:/)
    expect(normalized).not.toMatch(/restart:/)
  }, 120_000)
})
