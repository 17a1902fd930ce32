export * from './association.js';
export * from './chunks.js';
export { crc32c, sctpChecksum } from './crc32c.js';
export * from './datachannel.js';
