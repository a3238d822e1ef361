/** The token login: the token is kept in this browser and sent as `Authorization: Bearer`. */
import { useState } from 'preact/hooks';
import { ApiError, get, token } from '../api.js';

export function Login(props: { onDone: () => void }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    token.set(value.trim());
    try {
      await get('/devices');
      props.onDone();
    } catch (err) {
      token.clear();
      setError(err instanceof ApiError ? `${err.message} (${err.code})` : String(err));
    }
  };
  return (
    <form class="card login" onSubmit={(e) => void submit(e)}>
      <h1>Log in</h1>
      <p>This edge's API needs a token (ask its operator, or create one with the edgetwin command).</p>
      <label>
        Token
        <input type="password" name="token" value={value} onInput={(e) => setValue(e.currentTarget.value)} autoFocus />
      </label>
      <button type="submit">Log in</button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
