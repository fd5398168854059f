/**
 * Binds a gRPC server to one listener, turning grpc-js's bind error into one that names the listener
 * (`cannot listen on CLIENT://host:port: ... EADDRINUSE`), so a broker or voter that cannot start says where. The
 * listener's credentials come from grpc-credentials.ts (plaintext by default).
 */
import * as grpc from '@grpc/grpc-js'

export async function bindServer (server: grpc.Server, name: string, address: string, credentials = grpc.ServerCredentials.createInsecure()): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(address, credentials, (error) => {
      if (error === null) resolve()
      else reject(new Error(`cannot listen on ${name}://${address}: ${error.message}`))
    })
  })
}
