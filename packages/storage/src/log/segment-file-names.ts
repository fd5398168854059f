/**
 * Names of the files of a partition directory (ARCHITECTURE.md §2): `<20-digit zero-padded baseOffset>.log`,
 * `.index` and `.timeindex` per segment, so that lexicographic order is offset order, as in Kafka.
 */
export const LOG_FILE_SUFFIX = '.log'
export const INDEX_FILE_SUFFIX = '.index'
export const TIME_INDEX_FILE_SUFFIX = '.timeindex'
/**
 * The cleaner's crash-safe replacement of segments (Kafka's): a cleaned segment is written as `<base>.log.cleaned`,
 * renamed `<base>.log.swap` once whole and synced, and renamed `<base>.log` after the segments it replaces are gone.
 * On open a `.cleaned` file is discarded and a `.swap` file completes its swap (log-loader.ts).
 */
export const CLEANED_FILE_SUFFIX = '.cleaned'
export const SWAP_FILE_SUFFIX = '.swap'
/** Per partition: the offset below which the log has been cleaned (Kafka's `cleaner-offset-checkpoint`). */
export const CLEANER_OFFSET_CHECKPOINT_FILE = 'cleaner-offset-checkpoint'
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

/** The base offset of a `<base>.log<suffix>` file (`.cleaned`, `.swap`), or undefined for any other name. */
export function parseLogFileWithSuffix (name: string, suffix: typeof CLEANED_FILE_SUFFIX | typeof SWAP_FILE_SUFFIX): number | undefined {
  if (!name.endsWith(suffix)) return undefined
  const parsed = parseSegmentFileName(name.slice(0, -suffix.length))
  return parsed?.suffix === LOG_FILE_SUFFIX ? parsed.baseOffset : undefined
}
