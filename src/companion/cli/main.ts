/** Entry point of `lancam` (bin/lancam). */
import { exitWhenFlushed } from '../../net/process-exit';
import { runCli } from './program';

exitWhenFlushed(await runCli(process.argv.slice(2)));
