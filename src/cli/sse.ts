/**
 * A reader of server-sent events from a fetch body (the operator CLI's `follow`, the tests):
 * yields `{ id, event, data }` per message and `{ comment }` per comment line (heartbeats).
 * Bounded: a message larger than `maxBytes` ends the read with an error.
 */
export type SseItem =
  { kind: 'message'; id?: string; event: string; data: string } | { kind: 'comment'; text: string };

export async function* readSse(
  body: ReadableStream<Uint8Array>,
  maxBytes = 1_000_000,
): AsyncGenerator<SseItem> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    if (buffer.length > maxBytes) throw new Error('server-sent event larger than allowed');
    let end: number;
    while ((end = buffer.search(/\r?\n\r?\n/)) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
      const item = parseBlock(block);
      if (item) yield item;
    }
  }
}

function parseBlock(block: string): SseItem | undefined {
  let id: string | undefined;
  let event = 'message';
  const data: string[] = [];
  let comment: string | undefined;
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith(':')) {
      comment = line.slice(1).trim();
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0 && id === undefined) {
    return comment === undefined ? undefined : { kind: 'comment', text: comment };
  }
  return { kind: 'message', ...(id !== undefined ? { id } : {}), event, data: data.join('\n') };
}
