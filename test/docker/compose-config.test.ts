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

const secureOverride = join(repoRoot, 'docker-compose.secure.yml')

function composeWith (files: readonly string[], ...args: string[]): string {
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status !== 0) {
    spawnSync('bash', [join(repoRoot, 'scripts/docker/install-engine.sh')], { stdio: 'inherit' })
  }
  return execFileSync('docker-compose', [...files.flatMap((file) => ['-f', file]), ...args], { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent' } })
}

function compose (...args: string[]): string {
  return composeWith([composeFile], ...args)
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

describe('docker-compose.secure.yml (over docker-compose.yml)', () => {
  test('validates, runs the certs service first and secures every listener of every broker', () => {
    const files = [composeFile, secureOverride]
    const normalized = composeWith(files, 'config') // fails (throws) on an invalid file, as `config -q` would
    const servicesPart = normalized.split(/^volumes:$/m)[0] ?? ''
    expect([...servicesPart.matchAll(/^ {2}([a-z0-9-]+):$/gm)].map((match) => match[1]).sort()).toEqual(['broker-1', 'broker-2', 'broker-3', 'certs'])
    // The certs service copies what `gregor certs bootstrap --dir compose-certs` made on the host, without the CA's key
    // or the password, and hands it to the brokers' user.
    const certsService = normalized.split(/\n {2}(?=broker-\d:|certs:)/).find((text) => text.startsWith('certs:')) ?? ''
    expect(certsService).toContain('compose-certs:/input:ro')
    // In node (the image has no coreutils): every file of /input but the host-only ones, chowned to node (uid 1000).
    expect(certsService).toMatch(/entrypoint:\n\s+- node\n\s+- -e/)
    expect(certsService).toContain("Set(['ca.key', 'admin.password', 'admin-client.properties'])")
    expect(certsService).toContain('fs.chownSync(target, 1000, 1000)')
    const services = normalized.split(/\n {2}(?=broker-\d:|certs:)/)
    for (const broker of [1, 2, 3]) {
      const service = services.find((text) => text.startsWith(`broker-${broker}:`)) ?? ''
      expect(service).toMatch(/depends_on:\n {6}certs:\n {8}condition: service_completed_successfully/)
      expect(service).toContain('GREGOR_LISTENER_SECURITY_PROTOCOL_MAP: KAFKA:SASL_SSL,HOST:SASL_SSL,CLIENT:SASL_SSL,HOST_GRPC:SASL_SSL,BROKER:SSL,ADMIN:SSL')
      expect(service).toContain(`GREGOR_SSL_CERT_FILE: /certs/broker-${broker}.pem`)
      expect(service).toContain(`GREGOR_SSL_KEY_FILE: /certs/broker-${broker}.key`)
      expect(service).toContain('GREGOR_SSL_CA_FILE: /certs/ca.pem')
      expect(service).toContain('GREGOR_ACLS_ENABLED: "true"')
      expect(service).toContain('GREGOR_SUPER_USERS: User:admin')
      expect(service).toContain('GREGOR_SCRAM_BOOTSTRAP_FILE: /certs/scram-bootstrap.json')
      expect(service).toContain('GREGOR_ADMIN_TOKEN_FILE: /certs/admin-token')
      expect(service).toContain('certs:/certs:ro')
      expect(service).toContain(`broker-${broker}-data:/var/lib/gregor`) // the plain file's volume is kept
      expect(service).not.toMatch(/PASSWORD/) // no secret in any broker's environment
    }
  }, 120_000)
})
