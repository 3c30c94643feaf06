import type { PlainError } from '../api/errors';
import { RichText } from './RichText';

/** A plain-language error with the technical reason folded away. */
export function ErrorMessage({ error, testId }: { error: PlainError; testId?: string }) {
  return (
    <div className="error-message" role="alert" data-testid={testId} data-status={error.status === undefined ? undefined : String(error.status)}>
      <p className="error-message__text">
        <RichText text={error.message} />
      </p>
      {error.detail ? (
        <details className="error-message__details">
          <summary>Details</summary>
          <p>{error.detail}</p>
        </details>
      ) : null}
    </div>
  );
}
