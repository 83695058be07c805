/**
 * B9's stand-in OTLP/HTTP receiver, used only when the OpenTelemetry Collector has not been
 * built (`npm run tools`): a process of its own that accepts POST /v1/traces, /v1/metrics and
 * /v1/logs, reads the body and answers 200 with an empty body (an empty protobuf
 * Export…ServiceResponse, i.e. full success). It stores nothing; the bench reports which
 * receiver a run used. Env: BENCH_PORT.
 */
import { createServer } from 'node:http';

let requests = 0;
let bytes = 0;
const server = createServer((req, res) => {
  req.on('data', (chunk: Buffer) => (bytes += chunk.length));
  req.on('end', () => {
    if (req.method === 'GET' && req.url === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ requests, bytes }));
      return;
    }
    requests += 1;
    res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/x-protobuf' });
    res.end();
  });
});
server.listen(Number(process.env.BENCH_PORT), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
