/**
 * The principal of a client that presented a verified TLS certificate, the one rule both client listeners (Kafka and
 * gRPC) use: `User:<CN>`, the common name of the certificate's subject.
 *
 * Kafka's default (`DefaultKafkaPrincipalBuilder` with no `ssl.principal.mapping.rules`) is the whole subject DN
 * (`User:CN=alice,OU=...`); deployments commonly set a mapping rule that keeps the CN alone, and that is Gregor's fixed
 * rule, so that an ACL for `User:alice` means the same caller whether it logged in with SCRAM or came with a
 * certificate for `alice`. The inter-broker listener has its own rule (`User:CN=broker-<N>`, broker identity).
 *
 * Invariants: only a certificate that chained to the configured CA names a principal (a TLS socket that is not
 * `authorized`, e.g. a certificate refused under `ssl-client-auth=requested`, gives none); a subject with no CN, or
 * an empty one, gives none (the caller stays anonymous). With several CN values the first one counts.
 */
import type { Socket } from 'node:net'
import { TLSSocket } from 'node:tls'

/** A certificate subject as node's `getPeerCertificate()` (and grpc-js's auth context) give it. */
export type CertificateSubject = Readonly<Record<string, string | readonly string[] | undefined>>

/** `User:<CN>` of a verified certificate's subject, or undefined when the subject has no common name. */
export function certificatePrincipal (subject: CertificateSubject | undefined): string | undefined {
  const cn = subject?.CN
  const name = typeof cn === 'string' ? cn : cn?.[0]
  return name === undefined || name === '' ? undefined : `User:${name}`
}

/** The principal of a connection's verified client certificate; undefined for plaintext, no or an unverified certificate. */
export function tlsPeerPrincipal (socket: Socket): string | undefined {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined
  const certificate = socket.getPeerCertificate()
  return certificatePrincipal(certificate.subject as CertificateSubject | undefined)
}
