/**
 * The one place that turns TLS settings into credentials: grpc-js server and channel credentials for every gRPC
 * listener and client of Gregor (brokers, voters, the client library, the CLI), and the node `tls` options of the
 * Kafka listener. Everything else takes the credentials it is given; without TLS settings they are insecure
 * (plaintext), which is what tests and the simulation use.
 *
 * `TlsConfig` holds PEM bytes, not file names: `readTlsFiles` reads the files once, asynchronously, when a process
 * starts, so no handshake ever waits on the disk.
 *
 * Client certificates (`clientAuth`, Kafka's `ssl.client.auth`): `none` does not ask for one; `requested` asks and
 * accepts a connection without one — a certificate that does not chain to `ca` then counts as none (anonymous);
 * `required` refuses a connection without a certificate that chains to `ca`. Only a verified certificate is ever
 * seen by a handler (grpc-js's `getAuthContext()` shows a peer certificate only when the TLS socket authorized it).
 */
import { readFile } from 'node:fs/promises'
import type { SecureContextOptions, TlsOptions } from 'node:tls'
import * as grpc from '@grpc/grpc-js'

/** PEM material of one process's TLS identity and trust. */
export interface TlsConfig {
  /** CA bundle that peers' certificates must chain to; absent: the system's roots (clients only). */
  readonly ca?: Buffer
  /** This process's certificate chain; with `key`, presented to servers as a client certificate too. */
  readonly cert?: Buffer
  readonly key?: Buffer
}

export interface TlsFiles {
  readonly caFile?: string | undefined
  readonly certFile?: string | undefined
  readonly keyFile?: string | undefined
}

/** Kafka's `ssl.client.auth`. */
export type TlsClientAuth = 'none' | 'requested' | 'required'

/** Reads the named PEM files (in parallel); a file that cannot be read fails with its name and the reason. */
export async function readTlsFiles (files: TlsFiles): Promise<TlsConfig> {
  const read = async (what: string, path: string | undefined): Promise<Buffer | undefined> => {
    if (path === undefined || path === '') return undefined
    try {
      return await readFile(path)
    } catch (error) {
      throw new Error(`cannot read the TLS ${what} file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
    }
  }
  const [ca, cert, key] = await Promise.all([read('CA', files.caFile), read('certificate', files.certFile), read('key', files.keyFile)])
  if ((cert === undefined) !== (key === undefined)) throw new Error('a TLS certificate and its key go together: give both files or neither')
  return { ...(ca === undefined ? {} : { ca }), ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }) }
}

/**
 * Server credentials with any `ssl.client.auth`. grpc-js's `createSsl` knows only "no client certificate" and
 * "required"; `requested` (ask, accept none) needs node's `rejectUnauthorized: false` beside `requestCert`.
 */
class TlsServerCredentials extends grpc.ServerCredentials {
  constructor (tls: TlsConfig & { cert: Buffer; key: Buffer }, clientAuth: TlsClientAuth) {
    super(
      { requestCert: clientAuth !== 'none', rejectUnauthorized: clientAuth === 'required' },
      { cert: tls.cert, key: tls.key, ...(tls.ca === undefined ? {} : { ca: tls.ca }) },
    )
  }

  override _equals (other: grpc.ServerCredentials): boolean {
    return other === this
  }
}

/** The server side's own certificate and key, and the CA when client certificates are checked. */
function serverIdentity (tls: TlsConfig, clientAuth: TlsClientAuth): TlsConfig & { cert: Buffer; key: Buffer } {
  const { cert, key } = tls
  if (cert === undefined || key === undefined) throw new Error('a TLS server needs a certificate and key')
  if (clientAuth !== 'none' && tls.ca === undefined) throw new Error(`ssl.client.auth ${clientAuth}: checking client certificates needs a CA`)
  return { ...tls, cert, key }
}

/** Credentials of a gRPC listener: plaintext without `tls`, else TLS with the given client-certificate rule. */
export function serverCredentials (tls: TlsConfig | undefined, clientAuth: TlsClientAuth = 'none'): grpc.ServerCredentials {
  if (tls === undefined) return grpc.ServerCredentials.createInsecure()
  return new TlsServerCredentials(serverIdentity(tls, clientAuth), clientAuth)
}

/**
 * Credentials of a gRPC client: plaintext without `tls`; else TLS that checks the server's certificate against
 * `ca` (or the system's roots) and its name against the address dialled, presenting `cert`/`key` when given (mTLS).
 * With `serverCommonName` the server's certificate must also have that CN: a broker dialling broker N insists on
 * `broker-N`, so another member's certificate cannot stand in for it.
 */
export function channelCredentials (tls: TlsConfig | undefined, serverCommonName?: string): grpc.ChannelCredentials {
  if (tls === undefined) return grpc.credentials.createInsecure()
  const verify: grpc.VerifyOptions = serverCommonName === undefined ? {} : {
    checkServerIdentity: (_host, certificate) => {
      const cn = certificate.subject?.CN as string | string[] | undefined
      const actual = Array.isArray(cn) ? cn[0] : cn
      return actual === serverCommonName ? undefined : new Error(`server certificate CN=${actual ?? '(none)'} is not CN=${serverCommonName}`)
    },
  }
  return grpc.credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null, verify)
}

/** node `tls.createServer` options of a TLS listener (the Kafka listener), with the same client-certificate rule. */
export function tlsServerOptions (tls: TlsConfig, clientAuth: TlsClientAuth = 'none'): TlsOptions {
  const { cert, key, ca } = serverIdentity(tls, clientAuth)
  const context: SecureContextOptions = { cert, key, ...(ca === undefined ? {} : { ca }) }
  return { ...context, requestCert: clientAuth !== 'none', rejectUnauthorized: clientAuth === 'required' }
}
