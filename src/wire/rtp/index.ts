export * from './rtcp.js';
export * from './rtp.js';
