/**
 * Test support: a bare Kafka-protocol client over one TCP socket, for driving the Kafka listener byte by byte. It
 * writes whatever frames (or garbage) a test gives it, cuts answer frames off the socket in arrival order, and says
 * when the server closed the connection. No retries, no version negotiation: the test is the client.
 */
import { type Socket, connect } from 'node:net'
import { ErrorCode } from '@gregor/common'
import {
  type ApiKey, KafkaReader, KafkaWriter, type RequestBodies, type ResponseBodies, decodeResponse, decodeResponseHeader, encodeRequest,
} from '@gregor/kafka-protocol'

export class RawKafkaClient {
  readonly #socket: Socket
  #input: Buffer = Buffer.alloc(0)
  readonly #frames: Buffer[] = []
  #waiter: (() => void) | undefined
  /** Resolves when the connection has closed (either side). */
  readonly closed: Promise<void>

  private constructor (socket: Socket) {
    this.#socket = socket
    socket.on('data', (chunk: Buffer) => {
      this.#input = Buffer.concat([this.#input, chunk])
      while (this.#input.length >= 4 && this.#input.length >= 4 + this.#input.readInt32BE(0)) {
        const size = this.#input.readInt32BE(0)
        this.#frames.push(this.#input.subarray(4, 4 + size))
        this.#input = this.#input.subarray(4 + size)
      }
      this.#wake()
    })
    socket.on('error', () => {}) // a reset by the server shows as `closed`
    this.closed = new Promise((resolve) => { socket.on('close', () => { this.#wake(); resolve() }) })
  }

  static async connect (port: number, host = '127.0.0.1'): Promise<RawKafkaClient> {
    return await new Promise((resolve, reject) => {
      const socket = connect({ port, host }, () => { socket.off('error', reject); resolve(new RawKafkaClient(socket)) })
      socket.once('error', reject)
    })
  }

  get isClosed (): boolean {
    return this.#socket.destroyed || this.#socket.readyState === 'closed'
  }

  /** Raw bytes, as they are. */
  write (bytes: Buffer | readonly Buffer[]): void {
    for (const chunk of Buffer.isBuffer(bytes) ? [bytes] : bytes) this.#socket.write(chunk)
  }

  /** One request frame, as a Kafka client would encode it. */
  static frame<K extends ApiKey> (apiKey: K, apiVersion: number, correlationId: number, body: RequestBodies[K], clientId: string | null = 'raw-test'): Buffer {
    return Buffer.concat(encodeRequest({ apiKey, apiVersion, correlationId, clientId }, body))
  }

  /**
   * A request frame written by hand, for what `frame` cannot encode (unknown keys, versions we lack, bodies that do
   * not decode): header v1 (v2 when `flexible`) and the given body bytes.
   */
  static handFrame (apiKey: number, apiVersion: number, correlationId: number, body: Buffer, flexible = false, clientId = 'raw-test'): Buffer {
    const w = new KafkaWriter()
    w.writeInt16(apiKey)
    w.writeInt16(apiVersion)
    w.writeInt32(correlationId)
    w.writeNullableString(clientId, false)
    if (flexible) w.writeUnsignedVarint(0)
    const header = w.toBuffer()
    const size = Buffer.alloc(4)
    size.writeInt32BE(header.length + body.length)
    return Buffer.concat([size, header, body])
  }

  /** The next answer frame (size prefix removed); rejects if the connection closes first or after `timeoutMs`. */
  async nextFrame (timeoutMs = 10_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const frame = this.#frames.shift()
      if (frame !== undefined) return frame
      if (this.isClosed) throw new Error('connection closed before an answer arrived')
      const left = deadline - Date.now()
      if (left <= 0) throw new Error('no answer within the deadline')
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiter = () => { clearTimeout(timer); resolve() }
      })
    }
  }

  /** Reads the next answer as `apiKey` at `apiVersion`: its correlation id and body. */
  async response<K extends ApiKey> (apiKey: K, apiVersion: number): Promise<{ correlationId: number, body: ResponseBodies[K] }> {
    const reader = new KafkaReader(await this.nextFrame(), 0, undefined, ErrorCode.CORRUPT_MESSAGE)
    const correlationId = decodeResponseHeader(reader, apiKey, apiVersion)
    return { correlationId, body: decodeResponse(apiKey, apiVersion, reader) }
  }

  close (): void {
    this.#socket.destroy()
  }

  #wake (): void {
    const waiter = this.#waiter
    this.#waiter = undefined
    waiter?.()
  }
}
