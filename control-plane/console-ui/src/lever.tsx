/**
 * One lever: its fields, a required reason, then a confirmation step before
 * the request goes out. A role below `need` sees the lever disabled (the
 * admin API refuses it anyway: this is only a hint).
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, allows, type Role } from './api.js';

export interface LeverProps {
  id: string;
  title: string;
  need: Role;
  role: Role;
  /** What will happen, in words, for the confirmation. */
  describe: () => string;
  run: (reason: string) => Promise<unknown>;
  onDone: () => void;
  children?: ComponentChildren;
}

export function Lever({ id, title, need, role, describe, run, onDone, children }: LeverProps) {
  const [reason, setReason] = useState('');
  const [confirming, setConfirming] = useState<string | null>(null);
  const [msg, setMsg] = useState('');
  const [busy, setBusy] = useState(false);
  const disabled = !allows(role, need);
  const confirm = async () => {
    setBusy(true);
    try {
      await run(reason.trim());
      setMsg(`Done: ${confirming}`);
      setReason('');
      onDone();
    } catch (e) {
      setMsg(e instanceof ApiError ? `Refused (${e.code}): ${e.message}` : `Failed: ${String(e)}`);
    } finally {
      setBusy(false);
      setConfirming(null);
    }
  };
  return (
    <form
      class="lever"
      id={id}
      aria-labelledby={`${id}-title`}
      onSubmit={(e) => {
        e.preventDefault();
        if (reason.trim() === '') {
          setMsg('A reason is required.');
          return;
        }
        setMsg('');
        setConfirming(describe());
      }}
    >
      <fieldset disabled={disabled || busy}>
        <legend id={`${id}-title`}>{title}</legend>
        {disabled ? (
          <p class="hint">
            Needs the {need} role (you are {role}).
          </p>
        ) : null}
        {children}
        <label for={`${id}-reason`}>Reason</label>
        <input
          id={`${id}-reason`}
          name="reason"
          value={reason}
          maxLength={512}
          onInput={(e) => setReason((e.target as HTMLInputElement).value)}
        />
        <button type="submit">{title}…</button>
      </fieldset>
      {confirming !== null ? (
        <div class="confirm" role="alertdialog" aria-labelledby={`${id}-confirm`}>
          <p id={`${id}-confirm`}>
            Confirm: {confirming}. Reason: “{reason.trim()}”
          </p>
          <button type="button" onClick={confirm} disabled={busy} ref={(b) => b?.focus()}>
            Confirm
          </button>
          <button type="button" onClick={() => setConfirming(null)}>
            Cancel
          </button>
        </div>
      ) : null}
      <p role="status" class="msg">
        {msg}
      </p>
    </form>
  );
}
