/** Structured JSON logs (pino); secrets never reach a line. */
import { pino, type Logger } from 'pino';

export function createLogger(name: string, level: string = 'info'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: [
        '*.authorization',
        '*.headers.authorization',
        'botAppSecret',
        '*.botAppSecret',
        '*.access_token',
      ],
      censor: '[redacted]',
    },
  });
}
