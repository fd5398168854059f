/**
 * The names that appear more than once in a request's list of topics: the decisions of CreateTopics,
 * CreatePartitions and AlterTopicConfigs refuse each of those entries (INVALID_REQUEST), as Kafka does, and so do the
 * Kafka listener's admin handlers before they call the controller.
 */
export function repeatedNames (entries: readonly { readonly name: string }[]): ReadonlySet<string> {
  const seen = new Set<string>()
  const repeated = new Set<string>()
  for (const { name } of entries) {
    if (seen.has(name)) repeated.add(name)
    else seen.add(name)
  }
  return repeated
}
