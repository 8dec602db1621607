/**
 * The registry's storage, measured on its host: the bytes of the files under the storage folder
 * (blobs, manifests, links). Folders are left out on purpose: their size is the file system's
 * bookkeeping (4 kB each on ext4, a few bytes on others), which no registry API can predict, so
 * leaving it out makes the measured figure comparable with the plan's blob bytes everywhere.
 */
import type { Command } from '../command.ts';
import { TaskError } from '../errors.ts';
import { docker } from '../host/commands.ts';
import { parseSystemDf } from '../host/parse.ts';
import type { Runner } from '../runner.ts';
import { duCommand } from './gc.ts';

export function fileSizesCommand(path: string): Command {
  return ['find', path, '-type', 'f', '-printf', '%s\\n'];
}

export function sumFileSizes(output: string): number {
  return output.split('\n').reduce((sum, line) => sum + (Number(line.trim()) || 0), 0);
}

export async function storageBytes(runner: Runner, path: string): Promise<number> {
  const { stdout, stderr, exitCode } = await runner.run(fileSizesCommand(path), { allowFailure: true });
  if (exitCode !== 0)
    throw new TaskError(
      `${runner.name}: could not measure the registry storage at ${path} (REGISTRY_STORAGE_PATH): ${stderr.trim() || `find exited with ${exitCode}`}`,
    );
  return sumFileSizes(stdout);
}

/**
 * A named volume's size as `docker system df -v` counts it (four significant digits): what a
 * docker-group user can measure of a volume under Docker's data root, which it may not read.
 */
export async function volumeBytes(runner: Runner, volume: string): Promise<number> {
  const bytes = parseSystemDf((await runner.run(docker.systemDf())).stdout).volumeSizes.get(volume);
  if (bytes === undefined)
    throw new TaskError(`${runner.name}: no Docker volume named ${volume} (REGISTRY_STORAGE_VOLUME) to measure`);
  return bytes;
}

/** The storage as the settings say to measure it: its files (REGISTRY_STORAGE_PATH) or its volume. */
export async function measureStorage(
  runner: Runner,
  where: { storagePath?: string; storageVolume?: string },
): Promise<number | undefined> {
  if (where.storagePath) return storageBytes(runner, where.storagePath);
  if (where.storageVolume) return volumeBytes(runner, where.storageVolume);
  return undefined;
}

/** What the storage takes on disk, folders included (`du -sb`): the figure a size limit is about. */
export async function diskUsage(runner: Runner, path: string): Promise<number> {
  const { stdout } = await runner.run(duCommand(path));
  const bytes = Number(stdout.trim().split(/\s+/)[0]);
  if (!Number.isFinite(bytes))
    throw new TaskError(`${runner.name}: could not read the size of ${path} from du: ${stdout.trim()}`);
  return bytes;
}
