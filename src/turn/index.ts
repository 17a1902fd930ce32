export { type AddressScope, addressScope, isPeerAllowed, type PeerPolicy } from './address-policy.js';
export { TurnClient, type TurnClientOptions, TurnRequestError } from './client.js';
export { turnRestCredentials } from './credentials.js';
export { TurnServer, type TurnServerOptions, type TurnServerStats } from './server.js';
