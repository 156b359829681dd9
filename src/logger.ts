import type { FastifyServerOptions, FastifyRequest } from 'fastify';
import type { LogLevel } from './config.js';

/*
 * Personal data and SAML payloads never reach the log in clear. Paths cover request headers, any
 * logged object holding these keys one or two levels deep, and error objects carrying bodies.
 */
const PERSONAL_KEYS = [
  'lastName', 'firstName', 'otherFirstNames', 'birthName', 'birthDate', 'civility', 'email', 'emails',
  'samlResponse', 'SAMLResponse', 'relayState', 'RelayState', 'assertion', 'body', 'password', 'token',
];
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  ...PERSONAL_KEYS.map((k) => `*.${k}`),
  ...PERSONAL_KEYS.map((k) => `*.*.${k}`),
];

export function loggerOptions(level: LogLevel): FastifyServerOptions['logger'] {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      // Only the route pattern is logged: URLs carry person ids, which stay out of the log.
      req: (req: FastifyRequest) => ({
        method: req.method,
        route: req.routeOptions?.url ?? 'unmatched',
        remoteAddress: req.ip,
      }),
    },
  };
}
