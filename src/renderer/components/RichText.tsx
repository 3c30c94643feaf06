import { Fragment } from 'react';

/** Text where `backticked` parts are commands: shown as code, never interpreted as markup. */
export function RichText({ text }: { text: string }) {
  const parts = text.split('`');
  return (
    <>
      {parts.map((part, i) => (i % 2 === 1 ? <code key={i} className="inline-code">{part}</code> : <Fragment key={i}>{part}</Fragment>))}
    </>
  );
}
