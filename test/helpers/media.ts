/** Raw media-protocol clients for tests that play a peer by hand. */
import { connect } from 'node:tls';
import { encodeFrame, FrameDecoder, MEDIA_ALPN, type Frame } from '@cr-orchestrator/media-protocol';

/** HELLO with any credential on a raw TLS connection to `port`: the server's first frame. */
export function hello(port: number, credential: string, callId: string): Promise<Frame | 'closed'> {
  const socket = connect({
    host: '127.0.0.1',
    port,
    servername: 'localhost',
    ALPNProtocols: [MEDIA_ALPN],
  });
  const decoder = new FrameDecoder();
  return new Promise((resolve) => {
    socket.on('secureConnect', () =>
      socket.write(encodeFrame({ type: 'hello', callId, credential, peer: 'test' })),
    );
    socket.on('data', (chunk: Buffer) => {
      const [frame] = decoder.push(chunk);
      if (frame) {
        resolve(frame);
        socket.destroy();
      }
    });
    socket.on('error', () => resolve('closed'));
    socket.on('close', () => resolve('closed'));
  });
}
