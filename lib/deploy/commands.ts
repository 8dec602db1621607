/** The deploy's commands as argv values: image build and push, compose (v1 and v2), the lock. */
import type { Command } from '../command.ts';
import { files } from '../host/commands.ts';

export type Compose = 'docker compose' | 'docker-compose';

export interface ComposeTarget {
  compose: Compose;
  project: string;
  file: string;
}

const base = (t: ComposeTarget): string[] => [...t.compose.split(' '), '--project-name', t.project, '--file', t.file];

export const compose = {
  pull: (t: ComposeTarget): Command => [...base(t), 'pull', '--quiet'],
  /** No --remove-orphans: a container of a service the file no longer has is stopped only when the plan lists it. */
  up: (t: ComposeTarget): Command => [...base(t), 'up', '--detach'],
  upService: (t: ComposeTarget, service: string): Command => [...base(t), 'up', '--detach', '--no-deps', service],
  /** Stops and removes the project's containers (a first deploy that failed its gate). */
  down: (t: ComposeTarget): Command => [...base(t), 'down'],
  /** Recreates these services only: a file they mount changed, which compose's own comparison does not see. */
  recreate: (t: ComposeTarget, services: string[]): Command => [
    ...base(t),
    'up',
    '--detach',
    '--no-deps',
    '--force-recreate',
    ...services,
  ],
  /** One more container of `service` beside those there (--no-recreate: they keep running), nothing else touched. */
  startBeside: (t: ComposeTarget, service: string, count: number): Command => [
    ...base(t),
    'up',
    '--detach',
    '--no-deps',
    '--no-recreate',
    '--scale',
    `${service}=${count}`,
    service,
  ],
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
  push: (dockerHost: string | undefined, tag: string): Command => [
    'docker',
    ...(dockerHost ? ['--host', dockerHost] : []),
    'push',
    '--quiet',
    tag,
  ],
  /** On the deploy host (its own engine): no --host. */
  pull: (ref: string): Command => ['docker', 'pull', '--quiet', ref],
  inspectId: (ref: string): Command => ['docker', 'image', 'inspect', '--format', '{{.Id}}', ref],
};

export const host = {
  ...files,
  /** Every container of the project, running or not, by its compose label (needs no compose file). */
  projectContainerIds: (project: string): Command => [
    'docker',
    'ps',
    '--all',
    '--quiet',
    '--no-trunc',
    '--filter',
    `label=com.docker.compose.project=${project}`,
  ],
  /** The containers of one compose service (running ones only, or all): id and name. */
  serviceContainers: (project: string, service: string, runningOnly = false): Command => [
    'docker',
    'ps',
    ...(runningOnly ? [] : ['--all']),
    '--no-trunc',
    '--format',
    '{{.ID}} {{.Names}}',
    '--filter',
    `label=com.docker.compose.project=${project}`,
    '--filter',
    `label=com.docker.compose.service=${service}`,
  ],
  /** healthy, unhealthy or starting (compose's healthcheck), and the last check's output. */
  health: (id: string): Command => [
    'docker',
    'inspect',
    '--format',
    '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{range .State.Health.Log}}\n{{.Output}}{{end}}{{end}}',
    id,
  ],
  /** The processes of a container as the host sees them (no tool needed in its image). */
  top: (id: string): Command => ['docker', 'top', id],
  /** nginx in the front's container: `-t` tests the configuration, `-s reload` loads it without a restart. */
  nginx: (id: string, args: string[]): Command => ['docker', 'exec', id, 'nginx', ...args],
  containerLogs: (id: string, lines: number): Command => ['docker', 'logs', '--tail', String(lines), id],
  /** SIGTERM, then SIGKILL after the container's own stop timeout: requests in flight finish first. */
  stopContainer: (id: string): Command => ['docker', 'stop', id],
  imageRefs: (): Command => ['docker', 'image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'],
  removeContainer: (id: string, force: boolean): Command => ['docker', 'rm', ...(force ? ['--force'] : []), id],
  removeImage: (ref: string): Command => ['docker', 'image', 'rm', ref],
  /** An empty file only its owner can read: the save holds secrets, and tar keeps an existing file's mode. */
  privateFile: (path: string): Command => ['install', '-m', '600', '/dev/null', path],
  /** Saves the deploy folder's files (not the lock, the state, the marker or an older save) before shipping over them. */
  saveBefore: (dir: string, archive: string): Command => [
    'tar',
    '-c',
    '-f',
    archive,
    '-C',
    dir,
    '--exclude=./.before-deploy.tar',
    '--exclude=./.deploy.lock',
    '--exclude=./deploy-state.json',
    '--exclude=./.deploy-under-way.json',
    // The audit log only grows: a restore after a failed deploy must not take lines back.
    '--exclude=./cleanup-audit.jsonl',
    '.',
  ],
  restoreBefore: (dir: string, archive: string): Command => ['tar', '-x', '-f', archive, '-C', dir],
  /** Unpacks a tar archive read from stdin into the folder. */
  unpack: (dir: string): Command => ['tar', '-x', '-f', '-', '-C', dir],
};

/**
 * Packs files relative to `dir` into `archive` on the machine that runs the deploy. Secrets are
 * packed without group and other permissions (0600 as they are unpacked, never readable by others
 * for a moment), their folders listed too (no recursion) so they are created 0700.
 */
export const pack = (dir: string, archive: string, paths: string[], secret = false): Command => [
  'tar',
  '-c',
  '-f',
  archive,
  '-C',
  dir,
  ...(secret ? ['--mode=go=', '--no-recursion'] : []),
  '--',
  ...paths,
];
