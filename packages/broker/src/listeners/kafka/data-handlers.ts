/**
 * The Kafka handlers of the data family (the data plane: produce, fetch, list offsets, producer ids, offsets for leader epochs), bound to `KafkaDataApi`; one file per API under `handlers/`.
 */
import { ApiKey } from '@gregor/kafka-protocol'
import { handleFetch } from './handlers/fetch.js'
import { handleInitProducerId } from './handlers/init-producer-id.js'
import { handleListOffsets } from './handlers/list-offsets.js'
import { handleOffsetForLeaderEpoch } from './handlers/offset-for-leader-epoch.js'
import { handleProduce } from './handlers/produce.js'
import type { KafkaHandlers } from './kafka-handlers.js'
import type { KafkaDataApi } from './kafka-data-api.js'

export function dataHandlers (api: KafkaDataApi): KafkaHandlers {
  return {
    [ApiKey.Produce]: async (request, context) => await handleProduce(api, request, context),
    [ApiKey.Fetch]: async (request, context) => await handleFetch(api, request, context),
    [ApiKey.ListOffsets]: async (request, context) => await handleListOffsets(api, request, context),
    [ApiKey.InitProducerId]: (request, context) => handleInitProducerId(api, request, context),
    [ApiKey.OffsetForLeaderEpoch]: async (request, context) => await handleOffsetForLeaderEpoch(api, request, context),
  }
}
