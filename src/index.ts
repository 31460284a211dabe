// The public surface of micro-ts; users import nothing else.
export { Service, type ServiceOptions } from "./service/service.js";
export { WebService, type WebServiceOptions, type WebHandler } from "./service/web.js";
export { Client, retryOnError, type CallOptions, type ClientOptions, type CallFunc, type CallWrapper, type ClientRequest, type RetryFunc } from "./client/client.js";
export { Server, type ServerOptions, type ServerRequest, type HandlerFunc, type HandlerWrapper } from "./server/server.js";
export { shape, type HandlerContext, type HandleOptions, type EndpointDescription } from "./server/handler.js";
export * as errors from "./errors/errors.js";
export { MicroError } from "./errors/errors.js";
export * as metadata from "./metadata/metadata.js";
export type { Metadata } from "./metadata/metadata.js";
export {
  newRegistry, MemoryRegistry, LocalRegistry, CacheRegistry, EtcdRegistry, MdnsRegistry, defaultLocalRegistryDir, etcdKey,
  type Registry, type Service as RegistryService, type Node, type Endpoint, type Value, type Result, type Watcher, type RegisterOptions,
} from "./registry/index.js";
export { Selector, filterVersion, filterLabel, filterEndpoint, type Filter, type Strategy } from "./selector/selector.js";
export { type Codec, jsonCodec, bytesCodec } from "./codec/index.js";
export { resolveConfig, FLAGS, type Config } from "./config/config.js";
export { newLogger, type Logger } from "./util/log.js";
export type { ApiRequest, ApiResponse, Pair as ApiPair } from "./api/handlers/api.js";
export { apiEndpoint } from "./api/endpoints.js";
