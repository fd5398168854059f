/**
 * The verdict of a chaos run, from what the producer was told and what the log holds afterwards. Pure.
 *
 * - lost: acknowledged, but its value is nowhere in its partition's log.
 * - duplicated: one value stored at more than one offset (the idempotent producer never sends a value twice).
 * - moved: acknowledged at one offset (or partition) and stored at another.
 * - phantom: stored (or handed to the group consumer) but never produced: not `<partition>:<seq>`, `seq` never
 *   issued, or a value of another partition.
 * - consumerDiverged: the group consumer was handed, at some offset, a value other than the one the log holds there
 *   after healing (it read something that was later truncated: data above a high watermark).
 * - failedStored: reported failed to the producer, yet stored (the cluster committed it): not a violation (a
 *   failure may be ambiguous), but a client telling its user "not written" about a written record.
 * - unavailableMs: per partition, the longest gap between acknowledgements (and from the start of producing to the
 *   first one, and from the last one to the end of producing).
 */

/** `<partition>:<seq>` → { partition, seq }, or undefined for anything else. */
export function parseValue (value) {
  const match = /^(\d+):(\d+)$/.exec(value ?? '')
  return match === null ? undefined : { partition: Number(match[1]), seq: Number(match[2]) }
}

/**
 * @param acked [{ ackMs, partition, offset, seq }]
 * @param logs Map partition → Array<{ offset, value }> (the whole partition read back from offset 0)
 * @param consumed [{ partition, offset, value }] what the group consumer was handed
 * @param failed [{ partition, seq, code }] records whose send was reported failed (default none)
 * @param issued how many seqs the producer issued (0..issued-1)
 * @param window { startMs, endMs } when producing started and stopped
 */
export function checkRecords ({ acked, logs, consumed, failed = [], issued, window, partitions }) {
  const where = new Map() // seq → [{ partition, offset }]
  const byOffset = new Map() // partition → Map offset → value
  let phantom = 0
  const examples = { lost: [], duplicated: [], moved: [], phantom: [], consumerDiverged: [], failedStored: [] }
  const note = (kind, text) => { if (examples[kind].length < 10) examples[kind].push(text) }
  let stored = 0
  for (const [partition, records] of logs) {
    const offsets = new Map()
    byOffset.set(partition, offsets)
    for (const { offset, value } of records) {
      stored++
      offsets.set(offset, value)
      const parsed = parseValue(value)
      if (parsed === undefined || parsed.seq >= issued || parsed.partition !== partition) {
        phantom++
        note('phantom', `${String(value)} at ${partition}/${offset}`)
        continue
      }
      where.set(parsed.seq, [...(where.get(parsed.seq) ?? []), { partition, offset }])
    }
  }
  let duplicated = 0
  for (const [seq, places] of where) {
    if (places.length > 1) {
      duplicated += places.length - 1
      note('duplicated', `seq ${seq} at ${places.map((place) => `${place.partition}/${place.offset}`).join(', ')}`)
    }
  }
  let lost = 0
  let moved = 0
  for (const record of acked) {
    const places = where.get(record.seq)
    if (places === undefined) {
      lost++
      note('lost', `seq ${record.seq} acked at ${record.partition}/${record.offset}`)
    } else if (!places.some((place) => place.partition === record.partition && place.offset === record.offset)) {
      moved++
      note('moved', `seq ${record.seq} acked at ${record.partition}/${record.offset}, stored at ${places.map((place) => `${place.partition}/${place.offset}`).join(', ')}`)
    }
  }
  let consumerDiverged = 0
  for (const record of consumed) {
    const parsed = parseValue(record.value)
    if (parsed === undefined || parsed.seq >= issued || parsed.partition !== record.partition) {
      phantom++
      note('phantom', `consumer got ${record.value} at ${record.partition}/${record.offset}`)
      continue
    }
    const stored = byOffset.get(record.partition)?.get(record.offset)
    if (stored !== record.value) {
      consumerDiverged++
      note('consumerDiverged', `consumer got ${record.value} at ${record.partition}/${record.offset}, the log holds ${String(stored)}`)
    }
  }
  let failedStored = 0
  for (const record of failed) {
    const places = where.get(record.seq)
    if (places === undefined) continue
    failedStored++
    note('failedStored', `seq ${record.seq} reported ${record.code}, stored at ${places.map((place) => `${place.partition}/${place.offset}`).join(', ')}`)
  }
  const consumedSeqs = new Set(consumed.map((record) => parseValue(record.value)?.seq))
  const ackedNotConsumed = acked.filter((record) => !consumedSeqs.has(record.seq)).length
  const unavailableMs = {}
  for (let partition = 0; partition < partitions; partition++) {
    const times = acked.filter((record) => record.partition === partition).map((record) => record.ackMs).sort((a, b) => a - b)
    let longest = 0
    let previous = window.startMs
    for (const time of [...times, window.endMs]) {
      longest = Math.max(longest, time - previous)
      previous = Math.max(previous, time)
    }
    unavailableMs[partition] = longest
  }
  return { stored, lost, duplicated, moved, phantom, consumerDiverged, failedStored, ackedNotConsumed, unavailableMs, examples }
}
