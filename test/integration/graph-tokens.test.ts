/**
 * Graph tokens against the simulator's fake Entra (client credentials over HTTPS): a tenant's
 * token is asked for once and held until MSAL would refresh it, then fetched again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '@cr-orchestrator/teams-simulator';
import { createTokenSource } from '../../src/graph/tokens.js';
import { BOT_APP_ID, BOT_APP_SECRET, testSimulator } from '../helpers/system.js';

let sim: Simulator;
let shortLived: Simulator;
beforeAll(async () => {
  sim = await testSimulator('http://127.0.0.1:9/unused');
  // MSAL refreshes a token five minutes before it expires: this one is good for about a second (MSAL counts whole seconds)
  shortLived = await testSimulator('http://127.0.0.1:9/unused', { graphTokenLifetimeSec: 301 });
});
afterAll(async () => {
  await Promise.all([sim?.close(), shortLived?.close()]);
});

const tokenRequests = (s: Simulator, tenant: string) =>
  s.requests.filter((r) => r.route === 'token' && r.path.includes(tenant)).length;
const source = (s: Simulator) =>
  createTokenSource({
    clientId: BOT_APP_ID,
    clientSecret: BOT_APP_SECRET,
    authorityHost: s.authorityHost,
  });

describe('Graph tokens', () => {
  it('asks Entra once per tenant, for a burst and for every later request', async () => {
    const tokens = source(sim);
    const burst = await Promise.all(Array.from({ length: 20 }, () => tokens.getToken('t-a')));
    for (let i = 0; i < 20; i += 1) burst.push(await tokens.getToken('t-a'));
    expect(new Set(burst).size).toBe(1);
    expect(tokenRequests(sim, 't-a')).toBe(1);
    // another tenant has its own token
    const other = await tokens.getToken('t-b');
    expect(other).not.toBe(burst[0]);
    expect(tokenRequests(sim, 't-b')).toBe(1);
  });

  it('fetches a new token once MSAL would refresh the one held', async () => {
    const tokens = source(shortLived);
    const first = await tokens.getToken('t-c');
    expect(await tokens.getToken('t-c')).toBe(first);
    expect(tokenRequests(shortLived, 't-c')).toBe(1);
    await new Promise((r) => setTimeout(r, 2200));
    const second = await tokens.getToken('t-c');
    expect(second).not.toBe(first);
    expect(tokenRequests(shortLived, 't-c')).toBe(2);
    expect(await tokens.getToken('t-c')).toBe(second);
  });
});
