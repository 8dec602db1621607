import type { ListrTaskWrapper } from 'listr2';
import type { ParsedOptions } from '../cli.ts';
import { redact } from '../redact.ts';
import type { TaskContext } from '../task.ts';

/**
 * What a task sees of the run: its settings, the flags, progress lines, clean-up hooks, and its
 * own memos (a task's memos are its own: tasks hand each other values by `handsOn`, never by key).
 */
export function makeContext(
  settings: Record<string, unknown>,
  options: ParsedOptions,
  closers: (() => Promise<void> | void)[],
  signal: AbortSignal,
  now: number,
): TaskContext {
  const memos = new Map<string, unknown>();
  let wrapper: ListrTaskWrapper<unknown, never, never> | undefined;
  let lastPlain = 0;
  const live = Boolean(process.stderr.isTTY) && !process.env.CI;
  const ctx: TaskContext & { attach(w: ListrTaskWrapper<unknown, never, never> | undefined): void } = {
    settings,
    options,
    signal,
    now,
    progress(message) {
      if (!wrapper) return;
      // Plain output prints every line; keep CI logs readable by printing at most one a second.
      const now = Date.now();
      if (!live && now - lastPlain < 1000) return;
      lastPlain = now;
      wrapper.output = redact(message);
    },
    onClose(close) {
      closers.push(close);
    },
    memo<T>(key: string, make: () => T): T {
      if (!memos.has(key)) memos.set(key, make());
      return memos.get(key) as T;
    },
    attach(w) {
      wrapper = w;
    },
  };
  return ctx;
}
