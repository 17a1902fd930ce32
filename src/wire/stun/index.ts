export * from './address.js';
export * from './builder.js';
export * from './channel-data.js';
export * from './constants.js';
export * from './integrity.js';
export * from './message.js';
