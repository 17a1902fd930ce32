export * from './binding.js';
export * from './demux.js';
export * from './external.js';
export * from './ice-lite-server.js';
export * from './tcp-listener.js';
export * from './tuple.js';
export * from './udp-listener.js';
