export {
  Bot,
  type BotOptions,
  type BotSnapshot,
  type BotVideoOptions,
  PUBLISHER_SUFFIX,
  type StreamSnapshot,
} from './bot.js';
export { BotGroup, type BotSpec, devTokenUrl, fetchToken, type GroupConfig } from './bot-group.js';
export { type BotReport, formatReport, type GroupReport, type LoadReport, summarize } from './report.js';
export {
  type LoadOptions,
  LoadRunner,
  type RoomPlan,
  type RunnerOptions,
  runLoad,
  type Snapshot,
} from './runner.js';
