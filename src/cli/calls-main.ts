/** Entry point of `npm run calls` (src/cli/calls.ts); reads its two variables from the environment. */
import { main } from './calls.js';

process.exitCode = await main(process.argv.slice(2), process.env);
