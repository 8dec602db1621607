/**
 * `npm run bench`: every benchmark against the real components on loopback (Debian's
 * docker-registry, a real dockerd reached over a real sshd, git), each figure beside its ceiling
 * or peer measured in the same run. Prints one table and writes it as Markdown to .bench/last.md
 * (docs/performance.md's table). `npm run bench -- registry` (or server, inventory, deploy) runs one part.
 * Everything it starts it stops; seeds are cached in .bench/ and reused.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { stopAll } from './stops.ts';
import { markdownTable, textTable, type Row } from './table.ts';

// Loopback ports of this benchmark (BENCH_PORT_BASE moves the block of eleven).
const base = Number(process.env.BENCH_PORT_BASE ?? 25040);
const parts = process.argv.slice(2).length ? process.argv.slice(2) : ['registry', 'server', 'inventory', 'deploy'];
const started = performance.now();
const say = (text: string) =>
  process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(0)}s] ${text}\n`);

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    say(`${signal}: stopping what the benchmark started`);
    void stopAll().then(() => process.exit(130));
  });

const rows: Row[] = [];
const load = loadavg()[0];
// Each part loads only when it runs, so one part runs without the others' set-up.
if (parts.includes('registry'))
  rows.push(
    ...(await (
      await import('./registry.ts')
    ).registryBench({ plan: base, applyOurs: base + 1, applyBare: base + 2 }, say)),
  );
if (parts.includes('server')) rows.push(...(await (await import('./server.ts')).serverBench({ ssh: base + 3 }, say)));
if (parts.includes('deploy'))
  rows.push(
    ...(await (
      await import('./deploy.ts')
    ).deployBench(
      {
        registry: base + 4,
        ssh: base + 5,
        api: base + 6,
        front: base + 7,
        tls: base + 8,
        bareFront: base + 9,
        bareTls: base + 10,
      },
      say,
    )),
  );
if (parts.includes('inventory')) rows.push(...(await (await import('./inventory.ts')).inventoryBench(say)));

const took = (performance.now() - started) / 1000;
const machine = `${cpus().length} cores (${cpus()[0]?.model.trim()}), load average ${load.toFixed(1)} at the start, Node ${process.version}`;
const footer = `\n${parts.join(', ')} in ${Math.floor(took / 60)}m${Math.round(took % 60)}s on ${machine}; ${new Date().toISOString()}.\n`;
process.stdout.write(textTable(rows) + footer);
mkdirSync('.bench', { recursive: true });
writeFileSync('.bench/last.md', markdownTable(rows) + footer);
say('table written to .bench/last.md');
const missed = rows.filter((r) => r.met === false).length;
say(missed ? `${missed} target(s) missed: see the table's note column` : 'every target met');
process.exit(0);
