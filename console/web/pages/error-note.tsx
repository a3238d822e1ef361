/** An error as the API gave it: its detail and its stable code. */
import { ApiError } from '../api.js';

export function ErrorNote(props: { error: unknown }) {
  const e = props.error;
  if (!e) return null;
  return (
    <p class="error" role="alert">
      {e instanceof ApiError ? (
        <>
          {e.message} <span class="code">{e.code}</span>
        </>
      ) : e instanceof Error ? (
        e.message
      ) : (
        JSON.stringify(e)
      )}
    </p>
  );
}
