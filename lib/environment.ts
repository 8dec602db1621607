/**
 * The tool's own settings stay out of the commands it runs. A child process inherits the
 * environment, and some of our keys mean something else to other programs (distribution reads
 * every REGISTRY_* variable as configuration), and some are secrets. Settings register their
 * keys here when read; the runner starts children with the environment minus those keys.
 */
const ownKeys = new Set<string>();

export function registerOwnKey(key: string): void {
  ownKeys.add(key);
}

export function childEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !ownKeys.has(key)));
}
