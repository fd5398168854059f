/**
 * Command line of `npm run chaos`: `--seconds S` (of faults, default 60) and `--seed N` (default 1), both
 * validated; `--keep` keeps the data directory of a clean run too.
 */
export function parseChaosArgs (argv) {
  const args = { seconds: 60, seed: 1, keep: false }
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]
    if (name === '--keep') { args.keep = true; continue }
    const value = Number(argv[i + 1])
    if (name === '--seconds' && Number.isInteger(value) && value >= 5 && value <= 86_400) { args.seconds = value; i++; continue }
    if (name === '--seed' && Number.isInteger(value) && value >= 0 && value < 2 ** 32) { args.seed = value; i++; continue }
    console.error(`chaos: bad argument ${String(name)} ${String(argv[i + 1] ?? '')}\nusage: npm run chaos -- [--seconds S (5..86400)] [--seed N] [--keep]`)
    process.exit(2)
  }
  return args
}
