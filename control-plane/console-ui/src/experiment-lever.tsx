/** The experiments lever: start a draft, stop an experiment, or stop one arm (created with atpctl). */
import { useEffect, useState } from 'preact/hooks';
import { type Experiment, get, post, type Role } from './api.js';
import { Lever } from './lever.tsx';

const OPS = {
  start: { path: '/v1/experiments/start', words: 'START experiment' },
  stop: { path: '/v1/experiments/stop', words: 'STOP experiment' },
  'stop-arm': { path: '/v1/experiments/stop-arm', words: 'STOP arm of experiment' },
} as const;
type Op = keyof typeof OPS;

export function ExperimentLever({ role, tick, refresh }: { role: Role; tick: number; refresh: () => void }) {
  const [list, setList] = useState<Experiment[]>([]);
  const [err, setErr] = useState('');
  const [id, setId] = useState('');
  const [op, setOp] = useState<Op>('start');
  const [arm, setArm] = useState('');
  useEffect(() => {
    get<{ experiments: Experiment[] }>('/v1/experiments')
      .then((b) => {
        setList(b.experiments);
        setErr('');
      })
      .catch((e: Error) => setErr(e.message));
  }, [Math.floor(tick / 5)]);
  const chosen = list.find((e) => e.id === id) ?? list[0];
  const armChosen = arm || chosen?.arms[0]?.name || '';
  return (
    <Lever
      id="lever-experiment"
      title="Experiment"
      need="operator"
      role={role}
      describe={() =>
        `${OPS[op].words} ${chosen?.id ?? '(none)'}${op === 'stop-arm' ? ` arm ${armChosen}` : ''} (now ${chosen?.state ?? '?'})`
      }
      run={(reason) =>
        post(OPS[op].path, {
          id: chosen?.id ?? '',
          ...(op === 'stop-arm' ? { arm: armChosen } : {}),
          reason,
        })
      }
      onDone={refresh}
    >
      {err === '' ? null : <p class="hint">Experiments unavailable: {err}</p>}
      <label for="experiment-id">Experiment</label>
      <select
        id="experiment-id"
        value={chosen?.id ?? ''}
        onChange={(e) => setId((e.target as HTMLSelectElement).value)}
      >
        {list.length === 0 ? <option value="">no experiment (create one with atpctl)</option> : null}
        {list.map((e) => (
          <option key={e.id} value={e.id}>
            {e.id} ({e.state})
          </option>
        ))}
      </select>
      <label for="experiment-op">Operation</label>
      <select
        id="experiment-op"
        value={op}
        onChange={(e) => setOp((e.target as HTMLSelectElement).value as Op)}
      >
        <option value="start">start (a draft)</option>
        <option value="stop">stop the experiment</option>
        <option value="stop-arm">stop one arm</option>
      </select>
      <label for="experiment-arm">Arm (for stop one arm)</label>
      <select
        id="experiment-arm"
        value={armChosen}
        disabled={op !== 'stop-arm'}
        onChange={(e) => setArm((e.target as HTMLSelectElement).value)}
      >
        {(chosen?.arms ?? []).map((a) => (
          <option key={a.name} value={a.name}>
            {a.name}
          </option>
        ))}
      </select>
    </Lever>
  );
}
