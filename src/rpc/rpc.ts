// The RPC protocol's entry point: RpcClient (call, cast, fanoutCast, typed stubs) and RpcServer
// (serve a topic with a contract's handlers), over any Transport.
export { RpcClient, type ClientDefaults, type SendOptions } from './client.js';
export { RpcServer, type ServeOptions } from './server.js';
export { RemoteError, RpcTimeoutError, RpcVersionCapError, TransportUnavailableError } from './errors.js';
