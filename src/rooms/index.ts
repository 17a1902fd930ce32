// SFU rooms between the SFU API (src/sfu) and signaling: a worker pool and per-room routers.
export {
  DEFAULT_ROUTER_CAPACITY,
  defaultMediaCodecs,
  type RouterCapacity,
  SfuRoom,
  SfuRooms,
  type SfuRoomsOptions,
} from './sfu-rooms.js';
export { PooledRouter, WorkerPool, type WorkerPoolOptions } from './worker-pool.js';
