/**
 * Raw sockets against the ingress port: slowloris headers, half-open connections, bodies that
 * trickle, and the oversized body whose 413 must not promise a keep-alive it then breaks. A
 * legitimate request must be served all along.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from '../helpers/system.js';

const HEADERS_TIMEOUT_MS = 600;
const REQUEST_TIMEOUT_MS = 1200;
let system: System;
let port: number;

beforeAll(async () => {
  system = await startSystem({
    name: 'hostile-slow',
    withWorkers: false,
    env: {
      HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      MAX_BODY_BYTES: '4096',
    },
  });
  port = Number(new URL(system.ingress.url).port);
});
afterAll(async () => {
  await system?.close();
});

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves with the ms until the server closed `s` (and what it sent), or rejects after `maxMs`. */
function closedWithin(s: Socket, maxMs: number): Promise<{ ms: number; received: string }> {
  const started = Date.now();
  let received = '';
  s.on('data', (d: Buffer) => (received += d.toString()));
  s.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`socket still open after ${maxMs} ms`));
    }, maxMs);
    s.once('close', () => {
      clearTimeout(timer);
      resolve({ ms: Date.now() - started, received });
    });
  });
}

const healthy = async () => (await fetch(`${system.ingress.url}/healthz`)).status;

describe('slow and half-open clients are cut off', () => {
  it('half-open: connected, never sends a byte', async () => {
    const sockets = await Promise.all(Array.from({ length: 50 }, open));
    const closed = sockets.map((s) => closedWithin(s, HEADERS_TIMEOUT_MS + 3000));
    expect(await healthy()).toBe(200);
    for (const c of await Promise.all(closed)) expect(c.ms).toBeLessThan(HEADERS_TIMEOUT_MS + 2500);
  });

  it('slowloris: one header byte every 100 ms never completes a request', async () => {
    const s = await open();
    const closed = closedWithin(s, HEADERS_TIMEOUT_MS + 3000);
    const line = 'POST /api/calling HTTP/1.1\r\nHost: x\r\nX-Slow: ';
    let i = 0;
    const drip = setInterval(() => {
      if (!s.destroyed) s.write(line[i % line.length] ?? 'a');
      i += 1;
    }, 100);
    try {
      expect(await healthy()).toBe(200);
      const { ms, received } = await closed;
      expect(ms).toBeLessThan(HEADERS_TIMEOUT_MS + 2500);
      // Node answers 408 (or just closes); in no case is the request handled
      expect(received === '' || /^HTTP\/1\.1 408/.test(received)).toBe(true);
    } finally {
      clearInterval(drip);
    }
  });

  it('a body that trickles is cut off by the request timeout', async () => {
    const s = await open();
    const closed = closedWithin(s, REQUEST_TIMEOUT_MS + 3000);
    s.write(
      'POST /healthz HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n',
    );
    const drip = setInterval(() => !s.destroyed && s.write(' '), 100);
    try {
      const { ms } = await closed;
      expect(ms).toBeLessThan(REQUEST_TIMEOUT_MS + 2500);
    } finally {
      clearInterval(drip);
    }
  });
});

describe('413', () => {
  it('does not advertise keep-alive on a connection it is about to drop', async () => {
    const s = await open();
    const closed = closedWithin(s, 5000);
    const body = 'x'.repeat(10_000);
    s.write(
      `POST /api/calling HTTP/1.1\r\nHost: x\r\nconnection: keep-alive\r\nauthorization: Bearer ${await system.sim.signToken({ tenantId: system.sim.defaultTenantId })}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
    );
    s.write(body);
    const { received } = await closed;
    const head = received.split('\r\n\r\n')[0] ?? '';
    expect(head).toMatch(/^HTTP\/1\.1 413/);
    expect(head.toLowerCase()).toMatch(/\r\nconnection: close/);
    expect(head.toLowerCase()).not.toMatch(/keep-alive/);
  });
});
