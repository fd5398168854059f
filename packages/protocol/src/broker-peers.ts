/**
 * Who may speak on the inter-broker (BROKER) listener, and as which node: broker identity by mTLS.
 *
 * With TLS on the BROKER listener, every peer presents a client certificate that chains to the cluster's CA (the TLS
 * handshake refuses any other). Its principal is Kafka's default for TLS, `User:CN=<common name>`, and the rule is
 * fixed: CN `broker-<N>` is node N. A caller is let in only if that node is a configured cluster member (a voter);
 * every other certificate — a client's, a typo'd name, a node not in the cluster — is refused on every call of the
 * listener (`interceptors`). A call that claims a node id (a raft message's sender, RegisterBroker, a heartbeat,
 * AlterPartition, a replica fetch's replica id) must claim the certificate's node (`claimCheck`), so one broker can
 * never speak for another. Refusals answer PERMISSION_DENIED with Kafka's CLUSTER_AUTHORIZATION_FAILED in the
 * details and are logged with the principal and the source address (a certificate holds no secret).
 *
 * Without TLS (`openBrokerPeers`) there is no identity to check: everyone is let in and every claim holds, as before.
 * The other direction (`brokerChannelCredentials`): a broker dialling node N accepts only N's certificate as server.
 */
import { X509Certificate } from 'node:crypto'
import * as grpc from '@grpc/grpc-js'
import type { Logger, NodeId } from '@gregor/common'
import { type TlsConfig, channelCredentials } from './grpc-credentials.js'

/** Kafka's error code name for a caller that may not act on the cluster. */
export const clusterAuthorizationFailed = 'CLUSTER_AUTHORIZATION_FAILED'

/** What this module reads of a server call: who is at the other end. */
export interface PeerCall {
  getPeer (): string
  getAuthContext (): { sslPeerCertificate?: { subject?: Record<string, string | string[] | undefined> } } | null
}

/** Refuses a call, or lets it through (undefined). */
export type ClaimCheck = (claimedNodeId: number) => grpc.ServiceError | undefined

export interface BrokerPeers {
  /** Server interceptors of the BROKER listener: refuse every call from a caller that is not a cluster member. */
  readonly interceptors: readonly grpc.ServerInterceptor[]
  /**
   * A check of the node ids that `call` claims (in `what`, for the log), the caller resolved once for the whole call
   * (a stream's every message is checked against the same certificate).
   */
  claimCheck (call: PeerCall, what: string): ClaimCheck
}

const letThrough: ClaimCheck = () => undefined

/** The BROKER listener without TLS: no identity, every claim holds. */
export const openBrokerPeers: BrokerPeers = Object.freeze({ interceptors: [], claimCheck: () => letThrough })

/** The common name of node N's certificate: the one rule of this module. */
export function brokerCommonName (nodeId: number): string {
  return `broker-${nodeId}`
}

/**
 * The credentials a broker dials node N's BROKER listener with: plaintext without `tls`; else mTLS with this broker's
 * certificate, and N's certificate required to be `broker-N` (one credentials object per node, made once).
 */
export function brokerChannelCredentials (tls: TlsConfig | undefined): (nodeId: number) => grpc.ChannelCredentials {
  if (tls === undefined) {
    const insecure = grpc.credentials.createInsecure()
    return () => insecure
  }
  const byNode = new Map<number, grpc.ChannelCredentials>()
  return (nodeId) => {
    let credentials = byNode.get(nodeId)
    if (credentials === undefined) {
      credentials = channelCredentials(tls, brokerCommonName(nodeId))
      byNode.set(nodeId, credentials)
    }
    return credentials
  }
}

/**
 * Why this broker's own certificate cannot serve as node `nodeId`'s identity on the BROKER listener (empty: it can):
 * its CN must be `broker-<nodeId>` (else every peer refuses it) and it must be valid at `nowMs`. Checked when the
 * broker starts, so a wrong file stops it with a reason instead of leaving a cluster that silently cannot form.
 */
export function brokerCertificateProblems (tls: TlsConfig, nodeId: number, nowMs: number): string[] {
  if (tls.cert === undefined) return ['no certificate']
  let certificate: X509Certificate
  try {
    certificate = new X509Certificate(tls.cert)
  } catch (error) {
    return [`the certificate file is not a PEM certificate (${error instanceof Error ? error.message : String(error)})`]
  }
  const problems: string[] = []
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(certificate.subject)?.[1]
  if (cn !== brokerCommonName(nodeId)) problems.push(`its CN is ${cn ?? '(none)'}, but node ${nodeId} must present CN=${brokerCommonName(nodeId)}`)
  if (Date.parse(certificate.validFrom) > nowMs || Date.parse(certificate.validTo) < nowMs) {
    problems.push(`it is valid from ${certificate.validFrom} to ${certificate.validTo}, not now`)
  }
  return problems
}

/** The node a broker principal's common name names (`broker-<N>`), if it names one. */
export function brokerNodeIdOf (commonName: string): NodeId | undefined {
  const match = /^broker-([1-9]\d{0,9})$/.exec(commonName)
  return match === null ? undefined : Number(match[1]) as NodeId
}

interface Caller {
  readonly principal: string
  readonly address: string
  /** The member node the certificate names; undefined: not a member (refused). */
  readonly nodeId: NodeId | undefined
}

function commonName (call: PeerCall): string | undefined {
  const cn = call.getAuthContext()?.sslPeerCertificate?.subject?.CN
  return Array.isArray(cn) ? cn[0] : cn
}

function refusal (message: string): grpc.ServiceError {
  const details = `${clusterAuthorizationFailed}: ${message}`
  return Object.assign(new Error(details), { code: grpc.status.PERMISSION_DENIED, details, metadata: new grpc.Metadata() })
}

/** The BROKER listener with mTLS: callers are the members `members` (node ids) by their certificates. */
export function certificateBrokerPeers (options: { readonly members: ReadonlySet<number>; readonly logger: Logger }): BrokerPeers {
  const log = options.logger.child({ component: 'broker-peers' })
  const callerOf = (call: PeerCall): Caller => {
    const cn = commonName(call)
    const nodeId = cn === undefined ? undefined : brokerNodeIdOf(cn)
    return {
      principal: cn === undefined ? 'User:ANONYMOUS' : `User:CN=${cn}`,
      address: call.getPeer(),
      nodeId: nodeId !== undefined && options.members.has(nodeId) ? nodeId : undefined,
    }
  }
  const interceptor: grpc.ServerInterceptor = (method, call) => new grpc.ServerInterceptingCall(call, {
    start: (next) => {
      next({
        onReceiveMetadata: (metadata, pass) => {
          const caller = callerOf(call)
          if (caller.nodeId !== undefined) { pass(metadata); return }
          log.warn({ principal: caller.principal, source: caller.address, method: method.path }, 'inter-broker call refused: not a cluster member')
          const refused = refusal(`${caller.principal} is not a broker of this cluster`)
          call.sendStatus({ code: refused.code, details: refused.details, metadata: refused.metadata })
        },
      })
    },
  })
  return {
    interceptors: [interceptor],
    claimCheck: (call, what) => {
      const caller = callerOf(call)
      return (claimedNodeId) => {
        if (caller.nodeId === claimedNodeId) return undefined
        log.warn({ principal: caller.principal, source: caller.address, what, claimedNodeId }, 'inter-broker call refused: claimed node is not the certificate\'s')
        return refusal(`${caller.principal} may not speak for node ${claimedNodeId} (${what})`)
      }
    },
  }
}
