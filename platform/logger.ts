import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(options: { service: string; level: string }): Logger {
  return pino({
    level: options.level,
    base: { service: options.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['authorization', 'req.headers.authorization', '*.password', '*.secret'],
      censor: '[redacted]',
    },
  });
}
