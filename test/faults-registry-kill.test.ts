/**
 * clean:registry SIGKILLed in the middle of its deletions, against a real registry: the journal
 * the killed run wrote is intact (every line a full entry, the deletion cut in flight included),
 * the rerun's plan says the dead run's lock is taken over (same machine and boot, its pid gone),
 * the rerun takes it over without --force, finishes the deletions, and every kept and protected tag still resolves with all its blobs.
 *
 * The kill moment is chosen, not guessed: the registry is reached through a loopback proxy that
 * lets the first DELETE of a seeded image through (the throwaway of the run's delete probe does
 * not count), then holds the next one and says so; the test kills the run then, with at least one
 * deletion done and one in flight.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readJournal } from '../lib/registry/journal.ts';
import { forward } from './support/forward.ts';
import { freePort, waitFor } from '../sandbox/fixtures/ports.ts';
import { startRegistry, type TestRegistry } from '../sandbox/fixtures/registry.ts';
import { blobPresent, pushImage, resolves, tagsOf, type PushedImage } from '../sandbox/fixtures/registry-seed.ts';
import { runTask, howItEnded, startTask } from './support/run-task.ts';

let registry: TestRegistry;
let dir: string;

test.before(async () => {
  registry = await startRegistry();
  dir = mkdtempSync(join(tmpdir(), 'cleanup-faults-registry-kill-'));
});
test.after(async () => {
  await registry?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Forwards to the registry; while `holding`, a DELETE of one of the `seeded` digests that comes
 * after one such DELETE has finished is held unanswered.
 */
async function holdingProxy(target: URL, seeded: Set<string>) {
  let finishedDeletes = 0;
  const held: ServerResponse[] = [];
  const state = { holding: true };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const deletesSeeded =
      req.method === 'DELETE' &&
      seeded.has(
        decodeURIComponent(req.url ?? '')
          .split('/')
          .pop()!,
      );
    if (deletesSeeded && state.holding && finishedDeletes > 0) {
      held.push(res);
      return;
    }
    if (deletesSeeded) res.once('finish', () => finishedDeletes++);
    forward(req, res, target);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    held: () => held.length,
    finishedDeletes: () => finishedDeletes,
    close: () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const kept: Record<string, string[]> = {
  'webhook-api': ['1.3.0', '1.4.0', '1.5.0', 'final', 'latest'],
  'nginx-webhook': ['2.2.0', '2.3.0', '2.4.0'],
};

async function seed(): Promise<Map<string, PushedImage>> {
  const to = { url: registry.url };
  const images = new Map<string, PushedImage>();
  const push = async (repository: string, tags: string[], layers: string[]) => {
    const image = await pushImage(to, repository, tags, { layers });
    for (const tag of tags) images.set(`${repository}:${tag}`, image);
  };
  // final shares its image with a test tag: that tag is untagged without touching final.
  await push('webhook-api', ['final', 'test-shared'], ['base', 'final']);
  for (let i = 0; i <= 5; i++)
    await push('webhook-api', i === 5 ? ['1.5.0', 'latest'] : [`1.${i}.0`], ['base', `api-${i}`]);
  for (let i = 0; i < 4; i++) await push('webhook-api', [`temp-${i}`], ['base', `temp-${i}`]);
  for (let i = 0; i <= 4; i++) await push('nginx-webhook', [`2.${i}.0`], ['nginx', `front-${i}`]);
  await push('nginx-webhook', ['debug-1'], ['nginx', 'debug']);
  return images;
}

async function assertKeptIntact(images: Map<string, PushedImage>, label: string): Promise<void> {
  const to = { url: registry.url };
  for (const [repository, tags] of Object.entries(kept)) {
    for (const tag of tags) {
      const image = images.get(`${repository}:${tag}`)!;
      assert.is(
        await resolves(to, repository, tag),
        image.digest,
        `${label}: ${repository}:${tag} resolves to its image`,
      );
      for (const blob of image.blobs)
        assert.ok(
          await blobPresent(to, repository, blob.digest),
          `${label}: ${repository}:${tag} has blob ${blob.digest}`,
        );
    }
  }
}

test("SIGKILL between two deletions: the journal is intact, the rerun takes the dead run's lock without --force, finishes, and every kept tag stays whole", async () => {
  const images = await seed();
  const proxy = await holdingProxy(new URL(registry.url), new Set([...images.values()].map((i) => i.digest)));
  const env = {
    REGISTRY_URL: proxy.url,
    REPORTS_DIR: join(dir, 'reports'),
    REGISTRY_STATE_DIR: join(dir, 'state'),
    REGISTRY_LOCK_DIR: dir,
  };
  try {
    const { child, exited } = startTask('tasks/registry.ts', ['--yes'], env);
    try {
      await waitFor('a deletion done and the next one in flight', async () => proxy.held() > 0, 180_000);
    } finally {
      child.kill('SIGKILL');
    }
    assert.is((await exited).signal, 'SIGKILL');
    proxy.state.holding = false;
    assert.ok(proxy.finishedDeletes() >= 1);
    await assertKeptIntact(images, 'after the kill');
    const left = [
      ...(await tagsOf({ url: registry.url }, 'webhook-api')),
      ...(await tagsOf({ url: registry.url }, 'nginx-webhook')),
    ];
    assert.ok(left.length > 8, `the kill left deletions to do (${left})`);

    // The journal: one whole entry per line, written before each delete, the one cut in flight too.
    const [journalFile] = readdirSync(join(dir, 'state')).filter((f) => /^undo-.*\.jsonl$/.test(f));
    assert.ok(journalFile, 'the killed run left its journal');
    const text = readFileSync(join(dir, 'state', journalFile), 'utf8');
    assert.ok(text.endsWith('\n'), 'no line cut halfway');
    const entries = readJournal(join(dir, 'state', journalFile));
    assert.ok(
      entries.length >= proxy.finishedDeletes() + proxy.held(),
      `${entries.length} entries for ${proxy.finishedDeletes()} done and ${proxy.held()} in flight`,
    );
    for (const entry of entries)
      assert.ok(Buffer.from(entry.manifest, 'base64').length > 0 && entry.tags.length > 0, JSON.stringify(entry));

    // The rerun, through the same proxy (now passing everything): its dry run says the dead run's
    // lock is taken over (same machine, same boot, pid gone) and changes nothing...
    const looked = await runTask('tasks/registry.ts', ['--dry-run'], env);
    assert.is(looked.code, 0, howItEnded(looked));
    assert.match(
      looked.stderr,
      new RegExp(
        `pid ${child.pid}, .*\\(this machine, same boot\\) is gone: this run takes it over without --force`,
        's',
      ),
    );
    assert.equal(
      [
        ...(await tagsOf({ url: registry.url }, 'webhook-api')),
        ...(await tagsOf({ url: registry.url }, 'nginx-webhook')),
      ],
      left,
      'nothing changed by the dry run',
    );
    // ...and the run takes it over without --force and finishes what the killed one left.
    const rerun = await runTask('tasks/registry.ts', ['--yes', '--json'], env);
    assert.is(rerun.code, 0, howItEnded(rerun));
    assert.match(rerun.stderr, new RegExp(`Took over the lock on the registry .*pid ${child.pid}`));
    for (const [repository, tags] of Object.entries(kept))
      assert.equal(await tagsOf({ url: registry.url }, repository), tags);
    await assertKeptIntact(images, 'after the rerun');
    const again = await runTask('tasks/registry.ts', ['--yes', '--json'], env);
    assert.is(again.code, 0, howItEnded(again));
    assert.is(again.report.summary.changes, 0, JSON.stringify(again.report.changes));
  } finally {
    await proxy.close();
  }
});

test.run();
