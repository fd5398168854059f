// The topic id of a partition directory (`partition.metadata`) on a simulated disk, power losses included: a
// directory of another topic id is deleted before it is reused, one written by an older build (no file) is adopted.
import { describe, expect, test } from 'vitest'
import { ErrorCode, isGregorError } from '@gregor/common'
import { SimFileSystem } from '@gregor/storage'
import { PARTITION_METADATA_FILE, PartitionMetadataFile } from './partition-metadata-file.js'

const DIR = '/data/t-0'
const SEGMENT = `${DIR}/00000000000000000000.log`

/** A partition directory with a synced segment of old data, as a log would have left it. */
async function withSegment (fs: SimFileSystem): Promise<void> {
  await fs.mkdir(DIR)
  const handle = await fs.open(SEGMENT, 'w')
  await handle.write(Buffer.from('old batches'), 0, 11, 0)
  await handle.datasync()
  await handle.close()
  for (const dir of ['/', '/data', DIR]) await fs.syncDirectory(dir)
}

async function exists (fs: SimFileSystem, path: string): Promise<boolean> {
  return await fs.stat(path).then(() => true, () => false)
}

describe('PartitionMetadataFile', () => {
  test('a new directory is created with the file, durably', async () => {
    const fs = new SimFileSystem()
    expect(await new PartitionMetadataFile(fs, DIR).claim('id-a')).toEqual({ outcome: 'created' })
    fs.crash()
    expect((await fs.readFile(`${DIR}/${PARTITION_METADATA_FILE}`)).toString()).toBe('version: 0\ntopic_id: id-a\n')
    expect(await new PartitionMetadataFile(fs, DIR).read()).toBe('id-a')
  })

  test('a directory of an older build (no file) is adopted: its data kept, the file written', async () => {
    const fs = new SimFileSystem()
    await withSegment(fs)
    expect(await PartitionMetadataFile.of(fs, '/data', 't', 0).claim('id-a')).toEqual({ outcome: 'adopted' })
    fs.crash()
    expect(await exists(fs, SEGMENT)).toBe(true)
    expect(await new PartitionMetadataFile(fs, DIR).read()).toBe('id-a')
  })

  test('a directory of the same id is kept as it is', async () => {
    const fs = new SimFileSystem()
    await withSegment(fs)
    await new PartitionMetadataFile(fs, DIR).claim('id-a')
    expect(await new PartitionMetadataFile(fs, DIR).claim('id-a')).toEqual({ outcome: 'matched' })
    expect(await exists(fs, SEGMENT)).toBe(true)
  })

  test('a directory of another id is deleted and starts empty; a power loss brings none of it back', async () => {
    const fs = new SimFileSystem()
    await withSegment(fs)
    await new PartitionMetadataFile(fs, DIR).claim('id-old')
    expect(await new PartitionMetadataFile(fs, DIR).claim('id-new')).toEqual({ outcome: 'replaced', previousTopicId: 'id-old' })
    expect(await fs.readdir(DIR)).toEqual([PARTITION_METADATA_FILE])
    fs.crash()
    expect(await fs.readdir(DIR)).toEqual([PARTITION_METADATA_FILE])
    expect(await new PartitionMetadataFile(fs, DIR).read()).toBe('id-new')
    // Whatever the crash left of the directory set aside goes at the next claim.
    await new PartitionMetadataFile(fs, DIR).claim('id-new')
    expect(await fs.readdir('/data')).toEqual(['t-0'])
  })

  test('a power loss after the old directory was set aside leaves no old data under the partition\'s name', async () => {
    const fs = new SimFileSystem()
    await withSegment(fs)
    await new PartitionMetadataFile(fs, DIR).claim('id-old')
    // The write of the new file fails: the claim stops after the old directory was set aside and the new one made.
    fs.failNextSync(`${DIR}/${PARTITION_METADATA_FILE}`)
    await expect(new PartitionMetadataFile(fs, DIR).claim('id-new')).rejects.toMatchObject({ code: ErrorCode.KAFKA_STORAGE_ERROR })
    fs.crash()
    expect(await exists(fs, SEGMENT)).toBe(false)
    expect(await new PartitionMetadataFile(fs, DIR).claim('id-new')).toEqual({ outcome: 'adopted' })
    expect(await fs.readdir(DIR)).toEqual([PARTITION_METADATA_FILE])
  })

  test('a malformed or unreadable file is a storage error, and nothing is deleted', async () => {
    const fs = new SimFileSystem()
    await withSegment(fs)
    const handle = await fs.open(`${DIR}/${PARTITION_METADATA_FILE}`, 'w')
    await handle.write(Buffer.from('garbage'), 0, 7, 0)
    await handle.close()
    const error = await new PartitionMetadataFile(fs, DIR).claim('id-a').catch((e: unknown) => e)
    expect(isGregorError(error) && error.code === ErrorCode.KAFKA_STORAGE_ERROR).toBe(true)
    fs.failReads(DIR, true)
    await expect(new PartitionMetadataFile(fs, DIR).read()).rejects.toMatchObject({ code: ErrorCode.KAFKA_STORAGE_ERROR })
    fs.failReads(DIR, false)
    expect(await exists(fs, SEGMENT)).toBe(true)
  })
})
