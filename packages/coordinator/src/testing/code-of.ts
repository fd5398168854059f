/**
 * Test support: the GregorError code a call throws, or '' when it returns (anything else is rethrown), so a test can
 * list a decision's request-level errors one per line.
 */
import { isGregorError } from '@gregor/common'

export function codeOf (fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (isGregorError(error)) return error.code
    throw error
  }
  return ''
}
