/**
 * The admin handlers' batch step. Kafka answers a batch request (CreateTopics, DeleteTopics, CreatePartitions,
 * IncrementalAlterConfigs) per entry, in request order: the handler checks each entry first, a failed check answers
 * that entry alone (an entry named twice fails every copy), and the entries that pass go to the admin API in one call
 * (no call when none pass).
 *
 * Invariant: answer `i` belongs to entry `i`; the API's outcomes are handed to the passing entries in order, and an
 * entry the API gave no outcome gets `undefined` (each handler says what that means for its API).
 */
import { type AdminFailure, isAdminFailure } from '../kafka-admin-api.js'

export async function checkedOutcomes<Valid extends object, Outcome> (
  checked: readonly (Valid | AdminFailure)[], call: (valid: Valid[]) => Promise<readonly Outcome[]>,
): Promise<Array<Outcome | AdminFailure | undefined>> {
  const valid = checked.filter((item): item is Valid => !isAdminFailure(item))
  const outcomes = valid.length === 0 ? [] : await call(valid)
  let next = 0
  return checked.map((item) => isAdminFailure(item) ? item : outcomes[next++])
}
