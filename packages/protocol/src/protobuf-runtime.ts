/**
 * Configures the protobufjs runtime before any generated code loads (it is imported first by generated.ts):
 * 64-bit fields become plain numbers, never Long objects — including the prototype defaults the generated classes
 * compute at load time, which is why this cannot happen later.
 */
import protobuf from 'protobufjs/minimal.js'

protobuf.util.Long = undefined as unknown as typeof protobuf.util.Long
protobuf.configure()
