/**
 * Waiting on a condition with a deadline: the only way tests synchronise with processes (never a bare sleep).
 */
export async function waitFor<T> (
  description: string,
  probe: () => Promise<T | undefined> | T | undefined,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 20_000
  const intervalMs = options.intervalMs ?? 25
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (error) {
      lastError = error
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${lastError === undefined ? '' : ` (last error: ${String(lastError)})`}`)
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}
