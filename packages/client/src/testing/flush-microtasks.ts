/**
 * Lets every promise continuation that is already queued run, without a timer: tests use it to observe that something
 * has *not* happened yet (a wait still pending) after the virtual clock moved.
 */
export async function flushMicrotasks (rounds = 20): Promise<void> {
  for (let round = 0; round < rounds; round++) await Promise.resolve()
}
