/**
 * A local page for `npm run inspect`, bound to 127.0.0.1 only: it serves a bridge page that
 * shows Stately's inspector UI (https://stately.ai/inspect) in an iframe and hands it the
 * replay's inspection events in the browser (`postMessage`), read from this server as
 * server-sent events. Nothing is sent anywhere by this process; the inspector page itself is
 * Stately's, loaded by the browser. The bridge is the same idea as
 * `@statelyai/inspect/server`, without its WebSocket server on every interface.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StatelyInspectionEvent } from '@statelyai/inspect';

const INSPECTOR_URL = 'https://stately.ai/inspect';

const PAGE = `<!DOCTYPE html>
<html><head><title>call replay</title>
<style>*{margin:0;padding:0}html,body{height:100%}iframe{width:100%;height:100%;border:none}</style>
</head><body>
<iframe id="inspector" src="${INSPECTOR_URL}"></iframe>
<script>
  const iframe = document.getElementById('inspector');
  const buffer = [];
  let connected = false;
  window.addEventListener('message', (e) => {
    if (e.data && e.data.type === '@statelyai.connected') {
      connected = true;
      buffer.splice(0).forEach((ev) => iframe.contentWindow.postMessage(ev, '*'));
    }
  });
  new EventSource('/events').onmessage = (m) => {
    const ev = JSON.parse(m.data);
    if (connected) iframe.contentWindow.postMessage(ev, '*'); else buffer.push(ev);
  };
</script></body></html>`;

export interface InspectBridge {
  url: string;
  close(): Promise<void>;
}

export async function startInspectBridge(
  events: StatelyInspectionEvent[],
  port = 0,
): Promise<InspectBridge> {
  const server: Server = createServer((req, res) => {
    if (req.url === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      for (const event of events) res.write(`data: ${JSON.stringify(event)}\n\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
