/**
 * The network fault injector of the ingest tests (TcpProxy, createBrokerLink)
 * must never keep a test process alive after its last assertion: a process
 * that exits normally here takes well under a second.
 */
import { spawn } from 'node:child_process';
import t from 'tap';

const HELPER = new URL('../helpers/kafka-mock-cluster.ts', import.meta.url).pathname;
/** Far above a normal exit (tsx compiling the helper included); a leaked TCP handle never exits. */
const EXIT_WITHIN_MS = 20_000;

/** Runs `body` (an ES module with `cutSocket` in scope) in a node process; resolves with its exit code, null if it hung. */
async function exitCodeOf(body: string): Promise<number | null> {
  const script = `import { cutSocket } from ${JSON.stringify(HELPER)};\n${body}`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, EXIT_WITHIN_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

t.test('a connection cut after its shutdown began lets the process exit', async (t) => {
  // The server side ends its socket (as pipe() does when the proxy's other side ends) and is
  // cut at once, while the shutdown is still in flight: a reset there would leak the handle.
  const code = await exitCodeOf(`
    import { connect, createServer } from 'node:net';
    const server = createServer((s) => {
      s.on('error', () => undefined);
      s.end();
      cutSocket(s);
      server.close();
    });
    server.listen(0, '127.0.0.1', () => {
      const c = connect(server.address().port, '127.0.0.1');
      c.on('error', () => undefined);
    });
  `);
  t.equal(code, 0, 'the process exited on its own');
});

t.test('a live connection is cut with a reset the peer sees', async (t) => {
  const code = await exitCodeOf(`
    import { connect, createServer } from 'node:net';
    const server = createServer((s) => {
      s.on('error', () => undefined);
      cutSocket(s);
      server.close();
    });
    server.listen(0, '127.0.0.1', () => {
      const c = connect(server.address().port, '127.0.0.1');
      c.on('error', (err) => process.exit(err.code === 'ECONNRESET' ? 0 : 3));
      c.on('end', () => process.exit(4));
    });
  `);
  t.equal(code, 0, 'the peer got ECONNRESET');
});
