/** Structured JSON logs. Secrets never reach them: auth headers are redacted and only key ids are logged. */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

export function createLogger(level: string = 'info', destination?: DestinationStream): Logger {
  return pino(
    {
      name: 'keyward',
      level,
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'secret', '*.secret'], censor: '[redacted]' },
    },
    destination,
  );
}
