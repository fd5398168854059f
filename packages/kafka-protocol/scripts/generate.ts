/**
 * `npm run generate -w @gregor/kafka-protocol`: reads `scripts/definitions/*.def` and (re)writes `src/generated/`,
 * deleting generated files whose definition is gone. The output is checked in; a test regenerates it in memory and
 * fails on any difference, so a definition edited without regenerating cannot pass.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { generate } from './codegen.js'
import { parseDefinition, type ApiDefinition } from './definition-parser.js'

/** The package root, whether this runs from `scripts/` (vitest) or from `scripts/dist/` (node). */
function packageRoot (): string {
  const here = fileURLToPath(new URL('.', import.meta.url))
  return here.replace(/scripts\/(dist\/)?$/, '')
}

export function readDefinitions (root = packageRoot()): ApiDefinition[] {
  const dir = `${root}scripts/definitions/`
  return readdirSync(dir).filter((name) => name.endsWith('.def')).sort()
    .map((name) => parseDefinition(name.slice(0, -'.def'.length), readFileSync(`${dir}${name}`, 'utf8')))
}

export function generatedDirectory (root = packageRoot()): string {
  return `${root}src/generated/`
}

function main (): void {
  const root = packageRoot()
  const files = generate(readDefinitions(root))
  const outDir = generatedDirectory(root)
  mkdirSync(outDir, { recursive: true })
  for (const name of readdirSync(outDir)) if (!files.has(name)) rmSync(`${outDir}${name}`)
  for (const [name, text] of files) writeFileSync(`${outDir}${name}`, text)
  console.log(`generated ${files.size} files in ${outDir}`)
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main()
