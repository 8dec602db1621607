/** The deploy's commands as argv values: image build and push, compose (v1 and v2), the lock. */
import type { Command } from '../command.ts';

export type Compose = 'docker compose' | 'docker-compose';

export interface ComposeTarget {
  compose: Compose;
  project: string;
  file: string;
}

const base = (t: ComposeTarget): string[] => [...t.compose.split(' '), '--project-name', t.project, '--file', t.file];

export const compose = {
  pull: (t: ComposeTarget): Command => [...base(t), 'pull', '--quiet'],
  /** --remove-orphans stops and removes services the compose file no longer has. */
  up: (t: ComposeTarget): Command => [...base(t), 'up', '--detach', '--remove-orphans'],
  ps: (t: ComposeTarget): Command => [...base(t), 'ps', '--quiet'],
  logs: (t: ComposeTarget, lines: number): Command => [...base(t), 'logs', '--no-color', '--tail', String(lines)],
};

export const image = {
  build: (dockerHost: string | undefined, context: string, dockerfile: string, tags: string[]): Command => [
    'docker',
    ...(dockerHost ? ['--host', dockerHost] : []),
    'build',
    '--quiet',
    '--file',
    dockerfile,
    ...tags.flatMap((t) => ['--tag', t]),
    context,
  ],
  push: (dockerHost: string | undefined, tag: string): Command => ['docker', ...(dockerHost ? ['--host', dockerHost] : []), 'push', '--quiet', tag],
  inspectId: (ref: string): Command => ['docker', 'image', 'inspect', '--format', '{{.Id}}', ref],
};

export const host = {
  mkdir: (path: string): Command => ['mkdir', '-p', path],
  /** Atomic: mkdir fails when the lock exists, so only one deploy can hold it. */
  lock: (path: string): Command => ['mkdir', path],
  unlock: (path: string): Command => ['rm', '-rf', path],
  read: (path: string): Command => ['cat', path],
  /** Writes stdin to the file (the content goes on stdin, never into a shell line). */
  write: (path: string): Command => ['tee', path],
  containerImages: (ids: string[]): Command => ['docker', 'container', 'inspect', '--format', '{{.Image}} {{.State.Status}} {{.Config.Image}}', ...ids],
};
