/** Entry point of `lancam` (bin/lancam). */
import { exitWhenFlushed } from '../../net/process-exit';
import { maskProcessTitle } from '../../net/secret-input';
import { runCli } from './program';

// Arguments may hold secrets (a pairing string, a password): /proc/PID/cmdline shows only this.
maskProcessTitle(`lancam ${process.argv.slice(2).find((a) => /^[a-z][a-z-]*$/.test(a)) ?? ''}`.trim());
exitWhenFlushed(await runCli(process.argv.slice(2)));
