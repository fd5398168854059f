#!/usr/bin/env node
/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`, a `.cpuprofile` file): the functions with the most self time and the
 * most inclusive time, as percentages of the busy (non-idle) time. `--from NAME` starts counting at the first sample
 * whose stack holds a function named NAME (e.g. `append` for a broker, to leave out its start-up); by default every
 * sample counts. `--last-s S` counts only the profile's last S seconds (e.g. a low-rate run after a warm-up, stopped
 * right after it). Paths are shortened (node_modules/ → nm/, …/packages/ → pk/).
 *
 * Usage: node scripts/bench/cpu-profile-summary.mjs <file.cpuprofile> [--top 40] [--from NAME] [--last-s S]
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '40' }, from: { type: 'string' }, 'last-s': { type: 'string' } }, allowPositionals: true })
if (positionals.length !== 1) {
  process.stderr.write('usage: node scripts/bench/cpu-profile-summary.mjs <file.cpuprofile> [--top 40] [--from NAME] [--last-s S]\n')
  process.exit(2)
}
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'))
const top = Number(values.top)
const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const parentOf = new Map()
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id)
const nameOf = (id) => {
  const frame = byId.get(id).callFrame
  return `${frame.functionName || '(anonymous)'} ${frame.url.replace(/.*node_modules\//, 'nm/').replace(/.*\/packages\//, 'pk/')}:${frame.lineNumber}`
}
const functionName = (id) => byId.get(id).callFrame.functionName

let start = 0
if (values.from !== undefined) {
  start = profile.samples.findIndex((id) => { for (let at = id; at !== undefined; at = parentOf.get(at)) if (functionName(at) === values.from) return true; return false })
  if (start < 0) { process.stderr.write(`no sample under a function named ${values.from}\n`); process.exit(1) }
}
if (values['last-s'] !== undefined) {
  let tailUs = 0
  let at = profile.samples.length
  while (at > start && tailUs < Number(values['last-s']) * 1e6) tailUs += profile.timeDeltas[--at] ?? 0
  start = at
}
// timeDeltas[i] is the time before sample i, so sample i lasted timeDeltas[i + 1].
const self = new Map()
const inclusive = new Map()
let busyUs = 0
let windowUs = 0
for (let i = start; i < profile.samples.length; i++) {
  const id = profile.samples[i]
  const us = profile.timeDeltas[i + 1] ?? 0
  windowUs += us
  if (functionName(id) === '(idle)') continue
  busyUs += us
  self.set(nameOf(id), (self.get(nameOf(id)) ?? 0) + us)
  const seen = new Set()
  for (let at = id; at !== undefined; at = parentOf.get(at)) {
    const name = nameOf(at)
    if (seen.has(name)) continue
    seen.add(name)
    inclusive.set(name, (inclusive.get(name) ?? 0) + us)
  }
}
const lines = [`window ${(windowUs / 1e6).toFixed(2)} s, busy ${(busyUs / 1e6).toFixed(2)} s`]
for (const [title, table] of [['self', self], ['inclusive', inclusive]]) {
  lines.push(`-- ${title}`)
  for (const [name, us] of [...table].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`${(us / busyUs * 100).toFixed(1).padStart(5)}% ${name}`)
}
process.stdout.write(`${lines.join('\n')}\n`)
