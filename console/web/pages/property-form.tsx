/**
 * The form that sets one desired value, typed by the model: a number with its minimum and
 * maximum, a switch for a boolean, text otherwise. The browser does not pre-validate the range:
 * the API decides, and its error is shown as it gives it.
 */
import { useState } from 'preact/hooks';
import { patchDesired, type Property, type TwinValue } from '../api.js';
import { isNumeric } from '../format.js';
import { ErrorNote } from './error-note.js';

export function PropertyForm(props: { id: string; property: Property; current: TwinValue | undefined }) {
  const p = props.property;
  const boolean = p.type.toUpperCase() === 'BOOLEAN';
  const [text, setText] = useState(props.current === undefined || boolean ? '' : String(props.current));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState('');

  const send = async (value: TwinValue) => {
    setBusy(true);
    setError(undefined);
    setDone('');
    try {
      await patchDesired(props.id, { [p.name]: value });
      setDone('sent');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  if (boolean) {
    return (
      <form class="set" onSubmit={(e) => e.preventDefault()}>
        <label class="switch">
          <input
            type="checkbox"
            name={p.name}
            checked={props.current === true}
            disabled={busy}
            onChange={(e) => void send(e.currentTarget.checked)}
          />
          <span>{props.current === true ? 'on' : 'off'}</span>
        </label>
        <ErrorNote error={error} />
      </form>
    );
  }
  const numeric = isNumeric(p);
  return (
    <form
      class="set"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void send(numeric ? Number(text) : text);
      }}
    >
      <input
        name={p.name}
        type={numeric ? 'number' : 'text'}
        inputMode={numeric ? 'decimal' : 'text'}
        step={p.type.toUpperCase() === 'INT' ? 1 : 'any'}
        {...(p.minimum !== undefined ? { min: p.minimum } : {})}
        {...(p.maximum !== undefined ? { max: p.maximum } : {})}
        value={text}
        aria-label={`New ${p.name}`}
        onInput={(e) => setText(e.currentTarget.value)}
      />
      {p.unit && <span class="unit">{p.unit}</span>}
      <button type="submit" disabled={busy || text === ''}>
        Set
      </button>
      {done && <span class="ok">{done}</span>}
      <ErrorNote error={error} />
    </form>
  );
}
