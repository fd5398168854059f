/**
 * What every simulated client shares: its process, the network, the broker lookup, and the two questions it keeps
 * asking: "who leads this partition?" (any live broker's metadata, through the network) and "call that broker".
 *
 * Clients learn leaders only through metadata answers and errors, never by peeking at the simulation, so a client
 * can be as wrong about leadership as a real one.
 */
import { ErrorCode, GregorError, type Rng } from '@gregor/common'
import type { SimProcess } from './sim-process.js'
import type { SimRpcNetwork } from './sim-rpc-network.js'
import type { BrokerLookup, SimBrokerApi } from './sim-broker-api.js'

export interface PartitionLeader {
  readonly leader: number
  readonly leaderEpoch: number
}

export interface SimClientDeps {
  readonly process: SimProcess
  readonly network: SimRpcNetwork
  readonly brokers: BrokerLookup
  readonly brokerIds: readonly number[]
  readonly rng: Rng
  /** How long a call may go unanswered (a request timeout per attempt). */
  readonly requestTimeoutMs: number
}

export class SimClient {
  readonly deps: SimClientDeps

  constructor (deps: SimClientDeps) {
    this.deps = deps
  }

  get process (): SimProcess { return this.deps.process }

  /** Calls `brokerId`; a broker that is down answers nothing (NETWORK_EXCEPTION after the timeout). */
  async call<T> (brokerId: number, request: (api: SimBrokerApi) => Promise<T>): Promise<T> {
    const { network, brokers, process, requestTimeoutMs } = this.deps
    return await network.call(process, brokerId, async () => {
      const api = brokers(brokerId)
      if (api === undefined) throw new GregorError(ErrorCode.NETWORK_EXCEPTION, `broker ${brokerId} is down`)
      return await request(api)
    }, requestTimeoutMs)
  }

  /** The leader of topic-partition per a random broker's metadata; undefined when that broker knows none. */
  async leaderOf (topic: string, partition: number): Promise<PartitionLeader | undefined> {
    const brokerId = this.randomBroker()
    return await this.call(brokerId, async (api) => {
      const image = api.image()
      const topicImage = image.topic(topic)
      if (topicImage === undefined) return undefined
      const found = image.partition(topicImage.topicId, partition)
      if (found === undefined || found.leader < 0) return undefined
      return { leader: found.leader, leaderEpoch: found.leaderEpoch }
    })
  }

  randomBroker (): number {
    const { brokerIds, rng } = this.deps
    return brokerIds[rng.int(0, brokerIds.length)] as number
  }

  async sleep (delayMs: number): Promise<void> {
    await this.deps.process.timers.sleep(delayMs)
  }
}

/** The Kafka error code of a failed call, NETWORK_EXCEPTION for anything that is not a GregorError. */
export function errorCodeOf (error: unknown): string {
  return error instanceof GregorError ? error.code : (error as { code?: unknown }).code === undefined ? ErrorCode.NETWORK_EXCEPTION : String((error as { code: unknown }).code)
}
