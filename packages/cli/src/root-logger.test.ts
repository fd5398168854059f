import { PassThrough } from 'node:stream'
import { describe, expect, test } from 'vitest'
import { createRootLogger } from './root-logger.js'

function capture (isTTY: boolean): { stream: PassThrough & { isTTY: boolean }; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY })
  const chunks: Buffer[] = []
  stream.on('data', (chunk: Buffer) => chunks.push(chunk))
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') }
}

describe('createRootLogger', () => {
  test('writes JSON lines when the output is not a terminal', () => {
    const out = capture(false)
    createRootLogger({ base: { nodeId: 1 } }, out.stream).child({ component: 'test' }).info({ partition: 3 }, 'became leader')
    expect(JSON.parse(out.text().trim())).toMatchObject({ level: 30, nodeId: 1, component: 'test', partition: 3, msg: 'became leader' })
  })

  test('renders readable lines on a terminal, and GREGOR_LOG_FORMAT overrides the choice', () => {
    const tty = capture(true)
    createRootLogger({ base: { nodeId: 1 } }, tty.stream).info({ partition: 3 }, 'became leader')
    // eslint-disable-next-line no-control-regex
    const plain = tty.text().replace(/\u001b\[[0-9;]*m/g, '')
    expect(plain).toMatch(/INFO: became leader/)
    expect(plain).toMatch(/partition: 3/)
    expect(() => JSON.parse(tty.text())).toThrow()
    const forcedJson = capture(true)
    createRootLogger({}, forcedJson.stream, 'json').info('x')
    expect(JSON.parse(forcedJson.text().trim())).toMatchObject({ msg: 'x' })
  })
})
