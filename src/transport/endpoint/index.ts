export * from './answer.js';
export * from './srtp-from-dtls.js';
export * from './webrtc-endpoint.js';
