/**
 * Loaded into the uvu process by scripts/test.ts (`--import`). When uvu has printed its summary
 * but does not exit, something a test started still holds the event loop: a timer, a socket, a
 * server or a child process. On SIGUSR2 this prints each such handle with the stack that created
 * it, so a rare hang names its cause the first time it happens instead of needing a rerun.
 */
import { createHook } from 'node:async_hooks';

/** Resource types that keep Node's event loop alive while they are referenced. */
const holding = new Set([
  'Timeout',
  'Immediate',
  'TCPWRAP',
  'TCPSERVERWRAP',
  'PIPEWRAP',
  'PIPESERVERWRAP',
  'PROCESSWRAP',
  'UDPWRAP',
  'SIGNALWRAP',
  'FSEVENTWRAP',
  'STATWATCHER',
  'TLSWRAP',
  'TTYWRAP',
]);
const created = new Map<number, { type: string; stack: string }>();

createHook({
  init(asyncId, type) {
    if (!holding.has(type)) return;
    const stack = (new Error().stack ?? '')
      .split('\n')
      .slice(2)
      .filter((line) => !line.includes('node:internal/async_hooks') && !line.includes('open-handles.ts'));
    created.set(asyncId, { type, stack: stack.slice(0, 12).join('\n') });
  },
  destroy(asyncId) {
    created.delete(asyncId);
  },
}).enable();

process.on('SIGUSR2', () => {
  const lines = [
    `open handles in the test process ${process.pid}: ${process.getActiveResourcesInfo().join(', ') || 'none'}`,
  ];
  for (const [id, { type, stack }] of created) lines.push(`--- ${type} (async id ${id}), created at:\n${stack}`);
  process.stderr.write(`${lines.join('\n')}\n`);
});
