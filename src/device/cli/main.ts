/** Entry point of `lancam-device` (bin/lancam-device). */
import { exitWhenFlushed } from '../../net/process-exit';
import { runDeviceCli } from './program';

exitWhenFlushed(await runDeviceCli(process.argv.slice(2)));
