/** Entry point of `lancam-relay` (bin/lancam-relay). */
import { exitWhenFlushed } from '../../net/process-exit';
import { maskProcessTitle } from '../../net/secret-input';
import { runRelayCli } from './program';

// --turn-secret may be among the arguments: /proc/PID/cmdline shows only this.
maskProcessTitle('lancam-relay');
exitWhenFlushed(await runRelayCli(process.argv.slice(2)));
