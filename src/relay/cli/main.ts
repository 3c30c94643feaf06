/** Entry point of `lancam-relay` (bin/lancam-relay). */
import { exitWhenFlushed } from '../../net/process-exit';
import { runRelayCli } from './program';

exitWhenFlushed(await runRelayCli(process.argv.slice(2)));
