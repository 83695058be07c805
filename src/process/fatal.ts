/**
 * Start-up failures of a composition root: configuration and policy errors print one clear
 * message (naming the bad variable or field) and exit 2; anything else exits 1 with its stack.
 */
import { ConfigError } from '../config.js';
import { PolicyError } from '../policy/policy.js';

export function exitOnStartupError(role: string): (error: unknown) => never {
  return (error) => {
    if (error instanceof ConfigError || error instanceof PolicyError) {
      console.error(`${role}: ${error.message}`);
      process.exit(2);
    }
    console.error(`${role}: failed to start:`, error);
    process.exit(1);
  };
}
