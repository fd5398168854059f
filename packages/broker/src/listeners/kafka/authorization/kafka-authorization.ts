/**
 * Authorization at the Kafka listener's edge: every handler of the dispatch table is wrapped by its API's rule
 * (security/request-permissions.ts, Kafka's KafkaApis/AuthHelper), so a request reaches the broker only with what the
 * caller may do, and the rest is answered with Kafka's TOPIC/GROUP/CLUSTER_AUTHORIZATION_FAILED in the entry Kafka puts
 * it in (per partition, per topic, per group, or the whole request for cluster and single-group requests).
 *
 * Invariants:
 * - ACLs off (`authorizer.enabled` false): the handlers are returned as they are, no wrapper, no cost.
 * - Every served API has a rule (`authorizedHandlers` throws at composition for one without): an API added later
 *   cannot slip through unauthorized. ApiVersions and the SASL exchange need none (they come before a principal).
 * - A topic the caller may not DESCRIBE answers TOPIC_AUTHORIZATION_FAILED whether it exists or not, decided before
 *   the broker is asked anything about it; listings leave out what the caller may not see.
 * - Denied entries are appended after the handler's answers (Kafka clients match answers by name and partition).
 */
import { ApiKey } from '@gregor/kafka-protocol'
import { ANONYMOUS_PRINCIPAL, type Authorizer, type Caller } from '../../../security/authorizer.js'
import type { KafkaHandler, KafkaHandlers, KafkaRequestContext } from '../kafka-handlers.js'
import type { KafkaMetadataApi } from '../kafka-broker-api.js'
import { adminRules } from './admin-rules.js'
import { dataRules } from './data-rules.js'
import { groupRules } from './group-rules.js'

export interface KafkaAuthorizationDeps {
  readonly authorizer: Authorizer
  readonly listenerName: string
  /** Topic existence and auto-creation (Metadata); topic ids to names (Fetch v13). */
  readonly metadata: Pick<KafkaMetadataApi, 'topic' | 'autoCreateTopicsEnable'>
  readonly topicName: (topicId: string) => string | undefined
}

/** What every rule gets: the authorizer and who is asking. */
export interface RuleScope {
  readonly authorizer: Authorizer
  readonly deps: KafkaAuthorizationDeps
  caller (context: KafkaRequestContext): Caller
}

/** A rule turns the API's handler into one that asks the authorizer first. */
export type Rule<K extends ApiKey> = (inner: KafkaHandler<K>) => KafkaHandler<K>
export type Rules = { readonly [K in ApiKey]?: Rule<K> }

/** Served without authorization: they come before (or make) the principal. */
const exempt: ReadonlySet<ApiKey> = new Set([ApiKey.ApiVersions, ApiKey.SaslHandshake, ApiKey.SaslAuthenticate])

export function authorizedHandlers (handlers: KafkaHandlers, deps: KafkaAuthorizationDeps): KafkaHandlers {
  if (!deps.authorizer.enabled) return handlers
  const scope: RuleScope = {
    authorizer: deps.authorizer,
    deps,
    caller: (context) => ({ principal: context.principal ?? ANONYMOUS_PRINCIPAL, host: context.peerHost ?? '', listener: deps.listenerName }),
  }
  const rules: Rules = { ...dataRules(scope), ...adminRules(scope), ...groupRules(scope) }
  const wrapped: Record<number, unknown> = {}
  for (const key of Object.keys(handlers).map(Number) as ApiKey[]) {
    const handler = handlers[key]
    if (handler === undefined) continue
    if (exempt.has(key)) { wrapped[key] = handler; continue }
    const rule = rules[key] as Rule<typeof key> | undefined
    if (rule === undefined) throw new Error(`Kafka API ${key} is served without an authorization rule`)
    wrapped[key] = rule(handler as KafkaHandler<typeof key>)
  }
  return wrapped as KafkaHandlers
}

/**
 * The shape of a partly refused request: with nothing refused the request goes on as it is; else the handler gets
 * `narrowed()` (the allowed entries only) and `merge` adds the refused entries to its answer (none without an answer).
 */
export async function withRefusals<Request, Response> (
  inner: (request: Request, context: KafkaRequestContext) => Response | undefined | Promise<Response | undefined>,
  request: Request, context: KafkaRequestContext, refused: number, narrowed: () => Request, merge: (response: Response) => Response,
): Promise<Response | undefined> {
  if (refused === 0) return await inner(request, context)
  const response = await inner(narrowed(), context)
  return response === undefined ? undefined : merge(response)
}
