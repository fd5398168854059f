import { describe, expect, test } from 'vitest'
import { isGregorError } from '@gregor/common'
import { usesTls, validateBrokerConfig } from './broker-config.js'

const valid = {
  nodeId: '1', clusterId: 'c1', voters: '1@broker-1:9093,2@broker-2:9093,3@broker-3:9093',
  listeners: 'CLIENT://0.0.0.0:9092,BROKER://0.0.0.0:9093,ADMIN://0.0.0.0:8080',
  advertisedListeners: 'CLIENT://broker-1:9092,BROKER://broker-1:9093,ADMIN://broker-1:8080', dataDir: '/data',
}

function problemsOf (input: Record<string, string | undefined>): string[] {
  try {
    validateBrokerConfig(input)
  } catch (error) {
    if (isGregorError(error)) return error.details.problems as string[]
    throw error
  }
  return []
}

describe('broker config', () => {
  test('a complete configuration validates, with advertised addresses per listener', () => {
    const config = validateBrokerConfig(valid)
    expect(config.advertisedListeners.find((listener) => listener.name === 'CLIENT')).toEqual({ name: 'CLIENT', host: 'broker-1', port: 9092 })
    expect(config.voters.get(config.nodeId)).toBe('broker-1:9093')
    expect(Object.isFrozen(config)).toBe(true)
  })

  test('lists every problem at once', () => {
    const problems = problemsOf({ nodeId: 'x', clusterId: 'bad id!', voters: '1@h', listeners: 'CLIENT://0.0.0.0:9092', logLevel: 'loud' })
    expect(problems.join('\n')).toMatch(/node-id/)
    expect(problems.join('\n')).toMatch(/cluster-id/)
    expect(problems.join('\n')).toMatch(/voters: "1@h"/)
    expect(problems.join('\n')).toMatch(/BROKER listener/)
    expect(problems.join('\n')).toMatch(/ADMIN listener/)
    expect(problems.join('\n')).toMatch(/wildcard/)
    expect(problems.join('\n')).toMatch(/data-dir/)
    expect(problems.join('\n')).toMatch(/log-level/)
    expect(problems.length).toBeGreaterThanOrEqual(8)
  })

  test('a node outside the voter list and an advertised listener that does not exist are problems', () => {
    expect(problemsOf({ ...valid, nodeId: '4' })).toEqual(['voters: this node (4) is not in the voter list'])
    expect(problemsOf({ ...valid, advertisedListeners: `${valid.advertisedListeners},EXTERNAL://localhost:19092` }))
      .toEqual(['advertised-listeners: EXTERNAL is not a listener'])
  })

  test('each client listener speaks the protocol the map gives it; unmapped: KAFKA speaks kafka, the others grpc', () => {
    const listeners = 'KAFKA://0.0.0.0:9092,HOST://0.0.0.0:19092,CLIENT://0.0.0.0:9292,BROKER://0.0.0.0:9093,ADMIN://0.0.0.0:8080'
    const advertisedListeners = 'KAFKA://b1:9092,HOST://localhost:19092,CLIENT://b1:9292,BROKER://b1:9093,ADMIN://b1:8080'
    const config = validateBrokerConfig({ ...valid, listeners, advertisedListeners, listenerProtocolMap: 'host:KAFKA' })
    expect(Object.fromEntries(config.listenerProtocols)).toEqual({ KAFKA: 'kafka', HOST: 'kafka', CLIENT: 'grpc' })
    expect(config.autoCreateTopicsEnable).toBe(true)
    expect(validateBrokerConfig({ ...valid, autoCreateTopicsEnable: 'false' }).autoCreateTopicsEnable).toBe(false)
  })

  test('a bad listener protocol map or auto-create flag is a problem each', () => {
    const problems = problemsOf({ ...valid, listenerProtocolMap: 'CLIENT:http,BROKER:kafka,NOPE:kafka,junk', autoCreateTopicsEnable: 'yes' })
    expect(problems).toEqual([
      'listener-protocol-map: "CLIENT:http" is not NAME:kafka or NAME:grpc',
      'listener-protocol-map: BROKER has a fixed protocol',
      'listener-protocol-map: NOPE is not a listener',
      'listener-protocol-map: "junk" is not NAME:kafka or NAME:grpc',
      'auto-create-topics-enable: true or false (GREGOR_AUTO_CREATE_TOPICS_ENABLE)',
    ])
  })

  test('listener security protocols: the map names some, the others (ADMIN included) are PLAINTEXT; TLS files are kept', () => {
    const listeners = 'KAFKA://0.0.0.0:9092,HOST://0.0.0.0:19092,CLIENT://0.0.0.0:9292,BROKER://0.0.0.0:9093,ADMIN://0.0.0.0:8080'
    const advertisedListeners = 'KAFKA://b1:9092,HOST://localhost:19092,CLIENT://b1:9292,BROKER://b1:9093,ADMIN://b1:8080'
    const config = validateBrokerConfig({
      ...valid, listeners, advertisedListeners, listenerSecurityProtocolMap: 'kafka:sasl_ssl, CLIENT:SSL,BROKER:SSL',
      sslCertFile: '/certs/broker-1.pem', sslKeyFile: '/certs/broker-1.key', sslCaFile: '/certs/ca.pem', sslClientAuth: 'Requested',
    })
    expect(Object.fromEntries(config.listenerSecurityProtocols)).toEqual({ KAFKA: 'SASL_SSL', HOST: 'PLAINTEXT', CLIENT: 'SSL', BROKER: 'SSL', ADMIN: 'PLAINTEXT' })
    expect(config.ssl).toEqual({ certFile: '/certs/broker-1.pem', keyFile: '/certs/broker-1.key', caFile: '/certs/ca.pem', clientAuth: 'requested' })
    expect(usesTls(config.listenerSecurityProtocols.get('KAFKA'))).toBe(true)
    expect(usesTls(config.listenerSecurityProtocols.get('HOST'))).toBe(false)
  })

  test('sasl enabled mechanisms: all three by default, a chosen subset in its order, unknown names a problem', () => {
    expect(validateBrokerConfig(valid).saslEnabledMechanisms).toEqual(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'])
    expect(validateBrokerConfig({ ...valid, saslEnabledMechanisms: 'scram-sha-512, SCRAM-SHA-256' }).saslEnabledMechanisms).toEqual(['SCRAM-SHA-512', 'SCRAM-SHA-256'])
    expect(problemsOf({ ...valid, saslEnabledMechanisms: 'SCRAM-SHA-256,GSSAPI' }))
      .toEqual(['sasl-enabled-mechanisms: a list of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (GREGOR_SASL_ENABLED_MECHANISMS); not GSSAPI'])
  })

  test('without a security map every listener is PLAINTEXT and no TLS file is needed', () => {
    const config = validateBrokerConfig({ ...valid, sslCertFile: '/ignored.pem' })
    expect([...config.listenerSecurityProtocols.values()]).toEqual(['PLAINTEXT', 'PLAINTEXT', 'PLAINTEXT'])
    expect(config.ssl).toBeUndefined()
  })

  test('a bad security map and missing TLS files are a problem each', () => {
    expect(problemsOf({ ...valid, listenerSecurityProtocolMap: 'CLIENT:TLS,ADMIN:SASL_SSL,BROKER:SASL_SSL,NOPE:SSL,junk,CLIENT:SSL', sslClientAuth: 'maybe' })).toEqual([
      'listener-security-protocol-map: "CLIENT:TLS" is not NAME:PROTOCOL with PROTOCOL one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL',
      'listener-security-protocol-map: ADMIN serves HTTP: PLAINTEXT or SSL (HTTPS)',
      'listener-security-protocol-map: BROKER is PLAINTEXT or SSL (brokers authenticate by certificate)',
      'listener-security-protocol-map: NOPE is not a listener',
      'listener-security-protocol-map: "junk" is not NAME:PROTOCOL with PROTOCOL one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL',
      'ssl-client-auth: one of none, requested, required (GREGOR_SSL_CLIENT_AUTH)',
      'ssl-cert-file: required, listener CLIENT runs TLS (GREGOR_SSL_CERT_FILE)',
      'ssl-key-file: required, listener CLIENT runs TLS (GREGOR_SSL_KEY_FILE)',
    ])
    expect(problemsOf({ ...valid, listenerSecurityProtocolMap: 'BROKER:SSL', sslCertFile: 'c.pem', sslKeyFile: 'k.pem' }))
      .toEqual(['ssl-ca-file: required, BROKER runs SSL and peers are checked against it (GREGOR_SSL_CA_FILE)'])
    expect(problemsOf({ ...valid, listenerSecurityProtocolMap: 'CLIENT:SSL', sslCertFile: 'c.pem', sslKeyFile: 'k.pem', sslClientAuth: 'required' }))
      .toEqual(['ssl-ca-file: required, ssl-client-auth required checks client certificates against it (GREGOR_SSL_CA_FILE)'])
    expect(problemsOf({ ...valid, listenerSecurityProtocolMap: 'CLIENT:SSL', sslCertFile: 'c.pem', sslKeyFile: 'k.pem' })).toEqual([])
    expect(problemsOf({ ...valid, listenerSecurityProtocolMap: 'ADMIN:SSL', sslCertFile: 'c.pem', sslKeyFile: 'k.pem' })).toEqual([])
    expect(problemsOf({ ...valid, listenerSecurityProtocolMap: 'ADMIN:SSL' })).toEqual([
      'ssl-cert-file: required, listener ADMIN runs TLS (GREGOR_SSL_CERT_FILE)', 'ssl-key-file: required, listener ADMIN runs TLS (GREGOR_SSL_KEY_FILE)',
    ])
    // gRPC client listeners run SASL too (SCRAM login by SecurityService.Authenticate).
    expect(problemsOf({ ...valid, listenerSecurityProtocolMap: 'CLIENT:SASL_SSL', sslCertFile: 'c.pem', sslKeyFile: 'k.pem' })).toEqual([])
    expect(problemsOf({ ...valid, listenerSecurityProtocolMap: 'CLIENT:SASL_PLAINTEXT' })).toEqual([])
  })
})
