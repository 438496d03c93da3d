/** The operator console: sign in by token, then overview (live), levers, models and the decision explorer. */
import { render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, get, type Models as ModelsBody, type Status, setToken, type Who, whoami } from './api.js';
import { Decisions } from './decisions.tsx';
import { Levers } from './levers.tsx';
import { Models } from './models.tsx';
import { Overview } from './overview.tsx';

const POLL_MS = 1_000;
const PAGES = ['overview', 'levers', 'models', 'decisions'] as const;
type Page = (typeof PAGES)[number];

function SignIn({ onIn }: { onIn: (w: Who) => void }) {
  const [value, setValue] = useState('');
  const [err, setErr] = useState('');
  return (
    <form
      class="signin"
      aria-labelledby="signin-h"
      onSubmit={async (e) => {
        e.preventDefault();
        setToken(value.trim());
        try {
          onIn(await whoami());
        } catch (x) {
          setToken(null);
          setErr(x instanceof ApiError ? `${x.code}: ${x.message}` : String(x));
        }
      }}
    >
      <h1 id="signin-h">ATP operator console</h1>
      <label for="token">Access token</label>
      <input
        id="token"
        type="password"
        autocomplete="off"
        value={value}
        onInput={(e) => setValue((e.target as HTMLInputElement).value)}
      />
      <button type="submit">Sign in</button>
      <p role="alert">{err}</p>
    </form>
  );
}

function App() {
  const [who, setWho] = useState<Who | null>(null);
  const [page, setPage] = useState<Page>('overview');
  const [status, setStatus] = useState<Status | null>(null);
  const [models, setModels] = useState<ModelsBody | null>(null);
  const [decisionId, setDecisionId] = useState('');
  const [tick, setTick] = useState(0);
  const [err, setErr] = useState('');
  const poll = useCallback(async () => {
    try {
      const [s, m] = await Promise.all([get<Status>('/v1/status'), get<ModelsBody>('/v1/models')]);
      setStatus(s);
      setModels(m);
      setErr('');
      setTick((t) => t + 1);
    } catch (e) {
      setErr(e instanceof Error ? e.message : String(e));
    }
  }, []);
  useEffect(() => {
    if (who === null) return;
    void poll();
    const h = setInterval(() => void poll(), POLL_MS);
    return () => clearInterval(h);
  }, [who]);
  if (who === null) return <SignIn onIn={setWho} />;
  return (
    <div>
      <header>
        <h1>ATP operator console</h1>
        <p data-testid="who">
          Signed in as <strong>{who.name}</strong> ({who.role})
        </p>
        <button
          type="button"
          onClick={() => {
            setToken(null);
            setWho(null);
            setStatus(null);
          }}
        >
          Sign out
        </button>
        <nav aria-label="Console pages">
          {PAGES.map((p) => (
            <button
              key={p}
              type="button"
              aria-current={page === p ? 'page' : undefined}
              onClick={() => setPage(p)}
            >
              {p[0]!.toUpperCase() + p.slice(1)}
            </button>
          ))}
        </nav>
      </header>
      <main>
        {err === '' ? null : <p role="alert">Control plane unreachable: {err}</p>}
        {status === null ? (
          <p>Loading…</p>
        ) : page === 'overview' ? (
          <Overview status={status} />
        ) : page === 'levers' ? (
          <Levers role={who.role} status={status} models={models} refresh={() => void poll()} tick={tick} />
        ) : page === 'models' ? (
          <Models
            models={models}
            tick={tick}
            onOpen={(id) => {
              setDecisionId(id);
              setPage('decisions');
            }}
          />
        ) : (
          <Decisions initialId={decisionId} />
        )}
      </main>
    </div>
  );
}

const root = document.getElementById('app');
if (root !== null) {
  root.textContent = '';
  render(<App />, root);
}
