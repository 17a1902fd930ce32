export * from './attributes.js';
export * from './sdp.js';
