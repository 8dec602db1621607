/**
 * `npm run sandbox:stop`: stops the sandbox's processes and keeps its state, so that the next
 * `npm run sandbox` or `npm run demo` finds it as it was (the containers that ran start again).
 * The demo ends with it: it leaves nothing running.
 */
import { stopSandboxProcesses } from './processes.ts';

await stopSandboxProcesses({ remember: true });
