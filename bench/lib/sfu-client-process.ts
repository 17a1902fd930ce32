/** Entry of a load-generator process of the SFU benchmarks (see sfu-clients.ts). */
import { runClientProcess } from './sfu-clients.js';

await runClientProcess();
