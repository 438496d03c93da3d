/**
 * Runs a command `npm start` printed, exactly as printed: through a shell
 * with the real curl when the machine has one; otherwise (no curl binary)
 * its method, URL, headers and body are replayed with fetch and the answer
 * is written the way `curl -s -i` writes it, so the same checks apply.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function runPrintedCurl(cmd: string, haveCurl: boolean): Promise<string> {
  if (haveCurl) return (await run('sh', ['-c', cmd])).stdout;
  const words = shellWords(cmd);
  if (words[0] !== 'curl') throw new Error(`not a curl command: ${cmd}`);
  let method = 'GET';
  let url = '';
  let body: string | undefined;
  const headers: Record<string, string> = {};
  for (let i = 1; i < words.length; i++) {
    const w = words[i] as string;
    if (w === '-X') method = words[++i] ?? '';
    else if (w === '-H') {
      const h = words[++i] ?? '';
      const c = h.indexOf(':');
      headers[h.slice(0, c).trim()] = h.slice(c + 1).trim();
    } else if (w === '-d') {
      body = words[++i];
      if (method === 'GET') method = 'POST';
    } else if (w === '-s' || w === '-i') continue;
    else if (w.startsWith('-')) throw new Error(`curl option ${w} is not replayed`);
    else url = w;
  }
  const res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
  const head = [
    `HTTP/1.1 ${res.status} ${res.statusText}`,
    ...[...res.headers].map(([k, v]) => `${k}: ${v}`),
  ];
  return `${head.join('\r\n')}\r\n\r\n${await res.text()}`;
}

/** Splits a command line as sh does for plain words and single-quoted strings (all `npm start` prints). */
function shellWords(cmd: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < cmd.length; i++) {
    const ch = cmd[i] as string;
    if (ch === "'") {
      const end = cmd.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated quote in: ${cmd}`);
      cur += cmd.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (ch === ' ') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}
