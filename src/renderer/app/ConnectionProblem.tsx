/** The full-page message when this page cannot talk to the companion. */
import type { ApiConnection } from '../api/connect';

export function ConnectionProblem({ state }: { state: Exclude<ApiConnection, { kind: 'ready' }> }) {
  return (
    <div className="fullpage" role="alert" data-testid="connect-error">
      <div className="fullpage__card">
        <span className="brand__mark brand__mark--large" aria-hidden="true" />
        <h1>
          Open the address that <code>lancam ui</code> printed
        </h1>
        {state.kind === 'no-token' ? (
          <p>
            This page needs the one-time access token that <code>lancam ui</code> puts in the address it prints (after #token=). For your safety it is removed from the address bar once used, so reloading the page cannot reuse it.
          </p>
        ) : (
          <p>
            lancam did not accept this page: {state.message}. Open the address that <code>lancam ui</code> printed, or restart it to get a new one.
          </p>
        )}
      </div>
    </div>
  );
}

export function Connecting() {
  return (
    <div className="fullpage" data-testid="connecting">
      <span className="spinner" aria-hidden="true" />
      <p>Connecting to lancam…</p>
    </div>
  );
}
