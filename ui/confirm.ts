// The confirmation every action goes through: a modal <dialog> that says
// what will happen in numbers before anything is sent, then the API's
// answer (or its problem detail) in the same dialog.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from './format.ts';

export interface ActionRequest {
  /** The dialog's title and the confirm button's label ("Roll back"). */
  readonly title: string;
  /** What will happen, in numbers: "48% of users of `orders` will go back to legacy". */
  readonly effect: string;
  /** Destructive actions get a red confirm button. */
  readonly danger?: boolean;
  readonly run: () => Promise<unknown>;
}

let open: ((r: ActionRequest) => void) | undefined;
/** Called after an action succeeded, so that pages read fresh data at once. */
const doneListeners = new Set<() => void>();

/** Shows the confirmation for `request`; the action runs only when the operator confirms. */
export function ask(request: ActionRequest): void {
  open?.(request);
}

export function onActionDone(listener: () => void): () => void {
  doneListeners.add(listener);
  return () => doneListeners.delete(listener);
}

export function ConfirmDialog() {
  const dialog = useRef<HTMLDialogElement>(null);
  const [request, setRequest] = useState<ActionRequest | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);

  useEffect(() => {
    open = (r) => {
      setRequest(r);
      setError(undefined);
      setBusy(false);
      dialog.current?.showModal();
    };
    return () => {
      open = undefined;
    };
  }, []);

  const close = () => dialog.current?.close();
  const confirm = async () => {
    if (!request) return;
    setBusy(true);
    setError(undefined);
    try {
      await request.run();
      close();
      for (const l of doneListeners) l();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return html`<dialog ref=${dialog} class="confirm" aria-labelledby="confirm-title" onClose=${() => setRequest(undefined)}>
    <h2 id="confirm-title">${request?.title ?? ''}?</h2>
    <p class="effect">${request?.effect ?? ''}</p>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    <div class="buttons">
      <button type="button" onClick=${close}>Cancel</button>
      <button type="button" class=${request?.danger ? 'danger' : 'primary'} disabled=${busy} onClick=${confirm}>
        ${request?.title ?? 'Confirm'}
      </button>
    </div>
  </dialog>`;
}
