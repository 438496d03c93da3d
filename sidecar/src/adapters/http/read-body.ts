/** Reads a request body with a hard size bound; never buffers more than the bound. */
import type { IncomingMessage } from 'node:http';
import { AtpError } from '@mercato/platform/errors';
import { ERR } from '../../errors.js';

export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > maxBytes) {
      reject(new AtpError(ERR.PAYLOAD_TOO_LARGE, `body of ${declared} bytes exceeds ${maxBytes}`, '$'));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > maxBytes) {
        failed = true;
        reject(new AtpError(ERR.PAYLOAD_TOO_LARGE, `body exceeds ${maxBytes} bytes`, '$'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks, size));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (failed) return;
      // The client aborted mid-body: its doing, counted apart from internal errors.
      const aborted = req.destroyed || err.code === 'ECONNRESET' || err.message === 'aborted';
      reject(aborted ? new AtpError(ERR.CLIENT_CLOSED, 'the client closed the request', '$') : err);
    });
  });
}
