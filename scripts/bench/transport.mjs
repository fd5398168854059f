#!/usr/bin/env node
/**
 * The transport's floor (issue 12): what moving bytes between two Node processes on this machine costs, before any
 * broker logic. A sender streams `--megabytes` of messages of each `--message-bytes` size to a receiver in a child
 * process, with a bounded window of unanswered messages (the receiver answers each with 8 bytes), over:
 *   - grpc: one grpc-js bidi stream with identity serializers (no protobuf), a 16 MiB flow-control window, the channel
 *     options Gregor's replication stream uses — the cost of every gRPC hop a produced record takes (client → leader,
 *     leader → each follower);
 *   - tcp: a plain `net` socket with a 4-byte length prefix per message — what the Kafka listener's framing costs.
 * It prints, per transport and size, MB/s and each side's CPU (process.cpuUsage) per MB and per 100-byte record's worth
 * of bytes (100 / 1e6 of the per-MB figure): a lower bound for each hop's share of a broker's CPU per record.
 *
 * Output: a table on stdout; with `--json`, the table goes to stderr and one JSON object ({ rows }) to stdout. The
 * receiver is stopped by PID on exit, also on failure.
 *
 * Usage: node scripts/bench/transport.mjs [--megabytes 200] [--message-bytes 16384,175000,1000000] [--window 4] [--json]
 */
import { fork } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import { parseArgs } from 'node:util'
import * as grpc from '@grpc/grpc-js'

const FLOW_CONTROL_WINDOW_BYTES = 16 * 1024 * 1024
const identity = (bytes) => bytes
const method = { path: '/gregor.bench.Transport/Stream', requestStream: true, responseStream: true, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity }
const grpcOptions = { 'grpc.max_receive_message_length': 64 << 20, 'grpc.max_send_message_length': 64 << 20, 'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES }
const cpuSeconds = () => { const usage = process.cpuUsage(); return (usage.user + usage.system) / 1e6 }

if (process.argv[2] === '--receiver') await receiver()
else await sender()

/** The child: serves both transports on loopback, answers each message with 8 bytes, reports its CPU on request. */
async function receiver () {
  const ack = Buffer.alloc(8)
  const server = new grpc.Server(grpcOptions)
  server.addService({ Stream: method }, { Stream: (call) => { call.on('data', () => call.write(ack)); call.on('end', () => call.end()) } })
  const grpcPort = await new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => error ? reject(error) : resolve(port)))
  // Each message made contiguous with one copy once all of it arrived, as a framing server must (the Kafka
  // listener does the same): chunks are kept until then, never concatenated again and again.
  const tcp = net.createServer((socket) => {
    let chunks = []
    let buffered = 0
    socket.on('data', (chunk) => {
      chunks.push(chunk)
      buffered += chunk.length
      for (;;) {
        if (buffered < 4) return
        const head = chunks[0].length >= 4 ? chunks[0] : Buffer.concat(chunks)
        const frameBytes = 4 + head.readUInt32BE(0)
        if (buffered < frameBytes) return
        const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, buffered)
        chunks = buffered > frameBytes ? [all.subarray(frameBytes)] : []
        buffered -= frameBytes
        socket.write(ack)
      }
    })
  })
  tcp.listen(0, '127.0.0.1')
  await once(tcp, 'listening')
  process.on('message', (message) => { if (message === 'cpu') process.send({ cpuSeconds: cpuSeconds() }) })
  process.send({ grpcPort, tcpPort: tcp.address().port })
}

async function sender () {
  const { values } = parseArgs({
    options: { megabytes: { type: 'string', default: '200' }, 'message-bytes': { type: 'string', default: '16384,175000,1000000' }, window: { type: 'string', default: '4' }, json: { type: 'boolean', default: false } },
    strict: true,
  })
  const totalBytes = Number(values.megabytes) * 1e6
  const sizes = values['message-bytes'].split(',').map(Number)
  const window = Number(values.window)
  if (!(totalBytes > 0) || sizes.some((size) => !Number.isSafeInteger(size) || size <= 0) || !Number.isSafeInteger(window) || window < 1) {
    process.stderr.write('transport-bench: --megabytes, --message-bytes and --window must be positive\n')
    process.exit(2)
  }
  const child = fork(new URL(import.meta.url).pathname, ['--receiver'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const stop = () => { if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL') }
  process.on('exit', stop)
  try {
    const [ports] = await once(child, 'message')
    const receiverCpu = async () => { child.send('cpu'); const [message] = await once(child, 'message'); return message.cpuSeconds }
    const rows = []
    for (const transport of ['grpc', 'tcp']) {
      for (const messageBytes of sizes) {
        const open = transport === 'grpc' ? grpcStream(ports.grpcPort) : await tcpStream(ports.tcpPort)
        const messages = Math.max(1, Math.ceil(totalBytes / messageBytes))
        const payload = Buffer.alloc(messageBytes, 7)
        await open.run(payload, Math.min(messages, window * 2), window) // warm-up: connection, JIT
        const receiverBefore = await receiverCpu()
        const senderBefore = cpuSeconds()
        const startMs = performance.now()
        await open.run(payload, messages, window)
        const elapsedS = (performance.now() - startMs) / 1000
        const senderS = cpuSeconds() - senderBefore
        const receiverS = (await receiverCpu()) - receiverBefore
        open.close()
        const megabytes = messages * messageBytes / 1e6
        const perRecordUs = (seconds) => seconds / megabytes * 100 // µs per 100 bytes = s per MB × 1e6 × 100 / 1e6
        rows.push({
          transport, messageBytes, messages, megabytesPerSec: megabytes / elapsedS,
          cpuSecondsPerGB: { sender: senderS / megabytes * 1000, receiver: receiverS / megabytes * 1000 },
          cpuUsPer100Bytes: { sender: perRecordUs(senderS), receiver: perRecordUs(receiverS) },
        })
      }
    }
    const lines = [
      '| transport | message bytes | MB/s | sender CPU s/GB | receiver CPU s/GB | sender µs per 100 B | receiver µs per 100 B |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows.map((row) => `| ${row.transport} | ${row.messageBytes} | ${row.megabytesPerSec.toFixed(0)} | ${row.cpuSecondsPerGB.sender.toFixed(2)} | ${row.cpuSecondsPerGB.receiver.toFixed(2)} | ${row.cpuUsPer100Bytes.sender.toFixed(3)} | ${row.cpuUsPer100Bytes.receiver.toFixed(3)} |`),
    ].join('\n') + '\n'
    if (values.json) {
      process.stderr.write(lines)
      process.stdout.write(`${JSON.stringify({ rows })}\n`)
    } else {
      process.stdout.write(lines)
    }
  } finally {
    stop()
  }
}

/** `count` messages on one bidi stream, at most `window` unanswered. */
function grpcStream (port) {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), grpcOptions)
  const call = client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize)
  call.on('error', () => {}) // the stream is cancelled by close(); a real failure shows as a run that never ends
  return windowed((payload) => call.write(payload), (onAck) => call.on('data', onAck), () => { call.cancel(); client.close() })
}

async function tcpStream (port) {
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.setNoDelay(true)
  const header = Buffer.alloc(4)
  return windowed((payload) => { header.writeUInt32BE(payload.length); socket.write(Buffer.from(header)); socket.write(payload) },
    (onAck) => { let pending = 0; socket.on('data', (chunk) => { pending += chunk.length; while (pending >= 8) { pending -= 8; onAck() } }) },
    () => socket.destroy())
}

/** The send loop both transports share: keep `window` messages unanswered until `count` are answered. */
function windowed (send, onAcks, close) {
  let handler = () => {}
  onAcks(() => handler())
  return {
    run: (payload, count, window) => new Promise((resolve) => {
      let sent = 0
      let acked = 0
      const pump = () => { while (sent < count && sent - acked < window) { send(payload); sent++ } }
      handler = () => { acked++; if (acked === count) resolve(); else pump() }
      pump()
    }),
    close,
  }
}
