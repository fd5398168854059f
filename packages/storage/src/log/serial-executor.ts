/**
 * Runs async tasks one at a time, in submission order: the single writer of a partition log. A task that fails does
 * not stop the tasks after it; its caller gets the rejection.
 */
export class SerialExecutor {
  #tail: Promise<unknown> = Promise.resolve()

  run<T> (task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task, task)
    this.#tail = result.catch(() => {})
    return result
  }
}
