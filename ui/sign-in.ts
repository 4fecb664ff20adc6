// Sign-in: the admin token (operator) or viewer token, and a name that the
// ledger records beside every action taken in this session.
import { useState } from 'preact/hooks';
import { signIn } from './api.ts';
import { html } from './format.ts';
import type { Session } from './types.ts';

/** `notice`: what the last sign-out said, when it could not reach the whole fleet. */
export function SignIn(props: { onSignedIn: (s: Session) => void; notice?: string }) {
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (e: SubmitEvent) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(undefined);
    try {
      props.onSignedIn(await signIn(String(form.get('token')), String(form.get('name'))));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="sign-in">
    <h1>Cutover</h1>
    ${props.notice ? html`<p class="error" role="alert">${props.notice}</p>` : null}
    <form onSubmit=${submit} aria-describedby=${error ? 'sign-in-error' : undefined}>
      <label for="token">Admin or viewer token</label>
      <input id="token" name="token" type="password" autocomplete="current-password" required />
      <label for="name">Your name <span class="hint">(written in the ledger beside your actions)</span></label>
      <input id="name" name="name" type="text" autocomplete="username" required maxlength="64" />
      ${error ? html`<p id="sign-in-error" class="error" role="alert">${error}</p>` : null}
      <button type="submit" class="primary" disabled=${busy}>Sign in</button>
    </form>
  </main>`;
}
