/** Reads a request body up to a byte limit (413 past it) and parses it as JSON (400 naming `$`). */
import type { IncomingMessage } from 'node:http';
import { AtpError } from '@mercato/platform/errors';
import { ContractError } from '@mercato/proto/v1/validate';
import { ERR } from '../errors.js';

export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  // The media type exactly (parameters such as charset allowed): `application/jsonx` is not JSON.
  const media = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (media !== 'application/json') {
    throw new AtpError(ERR.UNSUPPORTED_MEDIA_TYPE, 'content-type must be application/json');
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes)
    throw new AtpError(ERR.PAYLOAD_TOO_LARGE, `body of ${declared} bytes; at most ${maxBytes}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      req.resume();
      throw new AtpError(ERR.PAYLOAD_TOO_LARGE, `body larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new ContractError('$', `not valid JSON (${(err as Error).message})`);
  }
}
