/**
 * Names of the files of a partition directory (ARCHITECTURE.md §2): `<20-digit zero-padded baseOffset>.log`,
 * `.index` and `.timeindex` per segment, so that lexicographic order is offset order, as in Kafka.
 */
export const LOG_FILE_SUFFIX = '.log'
export const INDEX_FILE_SUFFIX = '.index'
export const TIME_INDEX_FILE_SUFFIX = '.timeindex'
/** Present only while the log is closed cleanly; lets the next open skip the recovery scan. */
export const CLEAN_SHUTDOWN_FILE = '.clean-shutdown'

export type SegmentFileSuffix = typeof LOG_FILE_SUFFIX | typeof INDEX_FILE_SUFFIX | typeof TIME_INDEX_FILE_SUFFIX

export function segmentFileName (baseOffset: number, suffix: SegmentFileSuffix): string {
  return `${String(baseOffset).padStart(20, '0')}${suffix}`
}

/** The base offset and suffix of a segment file name, or undefined for any other file. */
export function parseSegmentFileName (name: string): { baseOffset: number; suffix: SegmentFileSuffix } | undefined {
  const match = /^(\d{20})(\.log|\.index|\.timeindex)$/.exec(name)
  if (match === null) return undefined
  const baseOffset = Number(match[1])
  if (!Number.isSafeInteger(baseOffset)) return undefined
  return { baseOffset, suffix: match[2] as SegmentFileSuffix }
}
