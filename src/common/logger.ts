import { type Logger, pino } from 'pino';

export type { Logger };

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** One pino logger per process; components take a child with their name. */
export function createLogger(level: LogLevel = 'info', name = 'tureen'): Logger {
  return pino({ name, level });
}

/** A logger that drops everything: the default for library users who pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
