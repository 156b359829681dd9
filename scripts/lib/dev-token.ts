import { createSigner } from 'fast-jwt';
import type { Settings } from '../../src/config.js';
import { withEmbeddedSecrets } from '../../src/embedded.js';

/**
 * Signs tokens the way this deployment verifies them: with JWT_SECRET (or the embedded mode's
 * generated one), or with JWT_PRIVATE_KEY when a public key is configured.
 */
export function devSigner(settings: Settings, expiresInSeconds = 8 * 3600): (claims: Record<string, unknown>) => string {
  const secret = settings.databaseUrl ? settings.jwtSecret : withEmbeddedSecrets(settings).config.jwtSecret;
  const key = settings.jwtPublicKey ? process.env.JWT_PRIVATE_KEY : secret;
  if (!key) {
    throw new Error(settings.jwtPublicKey ? 'JWT_PUBLIC_KEY is configured: set JWT_PRIVATE_KEY to sign tokens' : 'no JWT_SECRET configured');
  }
  const sign = createSigner({
    key,
    expiresIn: expiresInSeconds * 1000,
    ...(settings.jwtIssuer ? { iss: settings.jwtIssuer } : {}),
    ...(settings.jwtAudience ? { aud: settings.jwtAudience } : {}),
  });
  return (claims) => sign(claims);
}
