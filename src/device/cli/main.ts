/** Entry point of `lancam-device` (bin/lancam-device). */
import { runDeviceCli } from './program';

process.exitCode = await runDeviceCli(process.argv.slice(2));
