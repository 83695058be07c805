import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { callMachineDoc } from '../../src/dev/machine-diagram.js';

it('docs/call-machine.md is the diagram of the current machine (run `npm run diagram`)', () => {
  const committed = readFileSync(new URL('../../docs/call-machine.md', import.meta.url), 'utf8');
  expect(committed, 'docs/call-machine.md is stale: run `npm run diagram`').toBe(callMachineDoc());
});
