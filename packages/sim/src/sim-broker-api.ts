/**
 * What a simulated client may ask of a broker: the transport-free broker API the gRPC (and later Kafka) listeners
 * adapt, reduced to the calls the simulation's producers and consumers make. Each call is made through the simulated
 * network (`SimRpcNetwork.call`), so it can be lost, delayed or answered by a broker that has since changed its mind.
 */
import type { HeartbeatRequest, HeartbeatResponse, OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse } from '@gregor/coordinator'
import type { MetadataImage } from '@gregor/metadata'
import type { gregor } from '@gregor/protocol'

export type ProduceRequest = gregor.cluster.ProduceRequest.$Properties
export type ProduceResponse = gregor.cluster.ProduceResponse.$Properties
export type FetchRequest = gregor.cluster.FetchRequest.$Properties
export type FetchResponse = gregor.cluster.FetchResponse.$Properties

export interface SimBrokerApi {
  image (): MetadataImage
  initProducerId (): Promise<{ producerId: number; producerEpoch: number }>
  produce (request: ProduceRequest): Promise<ProduceResponse>
  fetch (request: FetchRequest): Promise<FetchResponse>
  findCoordinator (groupId: string): Promise<{ nodeId: number; partition: number }>
  heartbeat (request: HeartbeatRequest): Promise<HeartbeatResponse>
  commitOffsets (request: OffsetCommitRequest): Promise<OffsetCommitResponse>
  fetchOffsets (request: OffsetFetchRequest): Promise<OffsetFetchResponse>
}

/** Where clients find brokers: by id, undefined while that broker is down. */
export type BrokerLookup = (brokerId: number) => SimBrokerApi | undefined
