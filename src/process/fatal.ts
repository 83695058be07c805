/**
 * Start-up failures of a role: configuration and policy errors print one clear message (naming
 * the bad variable or field) and exit `EXIT.config`; anything else exits `EXIT.fatal` with its
 * stack.
 */
import { ConfigError } from '../config.js';
import { PolicyError } from '../policy/policy.js';
import { EXIT } from './exit-codes.js';

export function exitOnStartupError(role: string): (error: unknown) => never {
  return (error) => {
    if (error instanceof ConfigError || error instanceof PolicyError) {
      console.error(`${role}: ${error.message}`);
      process.exit(EXIT.config);
    }
    console.error(`${role}: failed to start:`, error);
    process.exit(EXIT.fatal);
  };
}
