/**
 * Entry point. The API is connected once, before React renders (the harness token can be read
 * from the address only once: it is removed from there at once).
 */
import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { connectApi, type ApiConnection } from './api/connect';
import { App } from './app/App';
import { Connecting, ConnectionProblem } from './app/ConnectionProblem';
import './styles/base.css';
import './styles/layout.css';
import './styles/components.css';
import './styles/devices.css';
import './styles/pairing.css';
import './styles/live.css';
import './styles/access.css';

let reportDisconnect: (reason: string) => void = () => undefined;
let disconnectedEarly: string | undefined;
const connection = connectApi((reason) => {
  disconnectedEarly = reason;
  reportDisconnect(reason);
});

function Root() {
  const [state, setState] = useState<ApiConnection>();
  const [disconnected, setDisconnected] = useState<string | undefined>(disconnectedEarly);
  useEffect(() => {
    reportDisconnect = setDisconnected;
    void connection.then(setState);
  }, []);

  if (!state) return <Connecting />;
  if (state.kind === 'ready') return <App api={state.api} disconnected={disconnected} />;
  return <ConnectionProblem state={state} />;
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Root />
  </StrictMode>,
);
