/**
 * The identity of the broker's log directory (KIP-858's `directory.id`, in Kafka's `meta.properties`).
 *
 * Owns: `meta.properties` in the log directory, written once, durably, when the directory has none (a fresh or wiped
 * disk), and read on every later start. The broker registers with the id; a controller that sees it change knows the
 * broker's replicas came back empty and must not trust the broker as the last holder of any partition's data
 * (issue 10, defect 9). A file that names another broker id is refused: the directory belongs to someone else.
 *
 * Invariants: the id never changes while the file exists; the file is replaced atomically (`replaceFile`).
 */
import { ErrorCode, GregorError, type NodeId } from '@gregor/common'
import { type FileSystem, hasErrno, replaceFile } from '@gregor/storage'

export const LOG_DIR_META_FILE = 'meta.properties'

/** The log directory's id: read from `meta.properties`, or made with `newId` and written there first. */
export async function loadLogDirId (fs: FileSystem, dir: string, nodeId: NodeId, newId: () => string): Promise<string> {
  const path = `${dir}/${LOG_DIR_META_FILE}`
  let text: string | undefined
  try {
    text = (await fs.readFile(path)).toString('utf8')
  } catch (error) {
    if (!hasErrno(error, 'ENOENT')) throw error
  }
  if (text !== undefined) {
    const properties = new Map(text.split('\n').flatMap((line) => {
      const at = line.indexOf('=')
      return line.startsWith('#') || at < 0 ? [] : [[line.slice(0, at).trim(), line.slice(at + 1).trim()] as const]
    }))
    const id = properties.get('directory.id') ?? ''
    const owner = properties.get('node.id')
    if (owner !== undefined && owner !== String(nodeId)) {
      throw new GregorError(ErrorCode.INVALID_CONFIG, `log directory ${dir} belongs to broker ${owner}, not ${nodeId}`)
    }
    if (id !== '') return id
  }
  const id = newId()
  await replaceFile(fs, path, `# written by gregor when this log directory was created\nversion=1\nnode.id=${nodeId}\ndirectory.id=${id}\n`)
  return id
}
