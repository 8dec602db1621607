/**
 * Every command the tasks run on a Docker host to read it or to change its files, as argv values
 * built by small pure functions (the Kamal way): tests assert them without any ssh, and
 * lib/runner.ts runs them. The deploy's own commands (build, push, compose) are lib/deploy/commands.ts.
 */
import type { Command } from '../command.ts';

export const docker = {
  info: (): Command => ['docker', 'info', '--format', '{{json .}}'],
  containerIds: (): Command => ['docker', 'ps', '--all', '--quiet', '--no-trunc'],
  /** Without --size: `docker system df -v` measures every writable layer anyway, once is enough. */
  inspectContainers: (ids: string[]): Command => ['docker', 'container', 'inspect', ...ids],
  imageIds: (): Command => ['docker', 'image', 'ls', '--quiet', '--no-trunc'],
  inspectImages: (ids: string[]): Command => ['docker', 'image', 'inspect', ...ids],
  volumeNames: (): Command => ['docker', 'volume', 'ls', '--quiet'],
  inspectVolumes: (names: string[]): Command => ['docker', 'volume', 'inspect', ...names],
  /** Volume sizes and build cache records; sizes there are human strings. */
  systemDf: (): Command => ['docker', 'system', 'df', '--verbose', '--format', '{{json .}}'],
  /** What Docker counts as used, per kind: measured before and after apply, the way item sizes are counted. */
  usage: (): Command => ['docker', 'system', 'df', '--format', '{{json .}}'],
  stopContainer: (id: string): Command => ['docker', 'container', 'stop', id],
  removeContainer: (id: string): Command => ['docker', 'container', 'rm', id],
  /** By tag when tagged (the image goes with its last tag), by ID when dangling; never --force. */
  removeImage: (refs: string[]): Command => ['docker', 'image', 'rm', ...refs],
  removeVolume: (name: string): Command => ['docker', 'volume', 'rm', name],
  /**
   * Removes exactly one build cache record. Docker 20.10's engine takes one value per prune filter
   * ("filters expect only one value"), so a record per call; --all, since a record a later build
   * could share counts as shared and a plain prune skips it.
   */
  removeBuildCache: (id: string): Command => ['docker', 'builder', 'prune', '--force', '--all', '--filter', `id=${id}`],
  composeV2Version: (): Command => ['docker', 'compose', 'version', '--short'],
  /** On PATH: asking docker-compose its version starts Python, a second on a small host. */
  composeV1Found: (): Command => ['sh', '-c', 'command -v docker-compose'],
  /** Whether docker-compose is on the PATH, found without starting it (a Python start-up of seconds). */
  composeV1Installed: (): Command => ['command', '-v', 'docker-compose'],
};

export const disk = {
  /** POSIX output in 1K blocks: one line per path, never wrapped (design.md, section 5). */
  usage: (paths: string[]): Command => ['df', '-P', '-k', ...paths],
};

/** Files on a host: the deploy folder, its state and its lock. */
export const files = {
  mkdir: (path: string): Command => ['mkdir', '-p', path],
  /** Atomic: mkdir fails when the lock exists, so only one deploy can hold it. */
  lock: (path: string): Command => ['mkdir', path],
  unlock: (path: string): Command => ['rm', '-rf', path],
  remove: (path: string): Command => ['rm', '-f', path],
  read: (path: string): Command => ['cat', path],
  /** Writes stdin to the file (the content goes on stdin, never into a shell line). */
  write: (path: string): Command => ['tee', path],
  exists: (path: string): Command => ['test', '-e', path],
};
