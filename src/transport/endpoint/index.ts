export * from './answer.js';
export * from './webrtc-endpoint.js';
