/**
 * How scripts/test.ts makes a run: which files start real parts (so npm run test:quick leaves
 * them out), and one summary from the files' own, with every count kept.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort, PORT_CLAIMS, releaseDeadClaims } from '../sandbox/fixtures/ports.ts';
import { quickRunVariable, refuseInQuickRun } from '../sandbox/fixtures/quick-run.ts';
import { needsRealParts, splitSummary, startersReached, testFiles } from './support/test-run.ts';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'cleanup-test-run-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

test('a file needs real parts when it reaches a starter through its helpers; a type import or a pure module does not', () => {
  const root = tree({
    'sandbox/fixtures/sshd.ts': "import { freePort } from './ports.ts';\n",
    'sandbox/fixtures/ports.ts': 'export const freePort = 0;\n',
    'sandbox/fixtures/dockerd.ts': '',
    'test/support/stack.ts': "import {\n  startSshd,\n} from '../../sandbox/fixtures/sshd.ts';\n",
    'test/deep.test.ts': "import { stack } from './support/stack.ts';\n",
    'test/typed.test.ts':
      "import type { TestEngine } from '../sandbox/fixtures/dockerd.ts';\nimport { x } from './pure.ts';\n",
    'test/pure.ts': "import { freePort } from '../sandbox/fixtures/ports.ts';\n",
    'test/spawns.test.ts': '/** Runs a fixture that starts an engine. @real-parts */\n',
    'test/side-effect.test.ts': "import '../sandbox/fixtures/dockerd.ts';\n",
  });
  try {
    assert.equal(startersReached('test/deep.test.ts', root), ['sandbox/fixtures/sshd.ts']);
    assert.ok(needsRealParts('test/deep.test.ts', root));
    assert.equal(startersReached('test/typed.test.ts', root), []);
    assert.not.ok(needsRealParts('test/typed.test.ts', root));
    assert.ok(needsRealParts('test/spawns.test.ts', root), 'the marker');
    assert.ok(needsRealParts('test/side-effect.test.ts', root));
    assert.equal(
      testFiles(join(root, 'test'), /\.test\.ts$/).map((file) => file.slice(root.length + 1)),
      ['test/deep.test.ts', 'test/side-effect.test.ts', 'test/spawns.test.ts', 'test/typed.test.ts'],
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("this repository's files: the engine, registry and sshd suites are left out of the quick run, the pure ones kept", () => {
  for (const file of ['test/server.test.ts', 'test/deploy.test.ts', 'test/registry.test.ts', 'test/teardown.test.ts'])
    assert.ok(needsRealParts(file), file);
  for (const file of ['test/cli-units.test.ts', 'test/registry-policy.test.ts', 'test/test-run.test.ts'])
    assert.not.ok(needsRealParts(file), file);
});

test("one file's uvu summary: its counts, and its output without them (the run prints one summary)", () => {
  const output =
    'suite.test.ts\n• • ✘ (2 / 3)\n\n  Total:     3\n  Passed:    2\n  Skipped:   1\n  Duration:  1.20s\n\n';
  assert.equal(splitSummary(output), {
    counts: { total: 3, passed: 2, skipped: 1 },
    body: 'suite.test.ts\n• • ✘ (2 / 3)',
  });
  const colored =
    '\x1b[1msuite\x1b[22m\n\n  Total:     2\x1b[32m\n  Passed:    2\x1b[39m\n  Skipped:   0\n  Duration:  1ms\n';
  assert.equal(splitSummary(colored).counts, { total: 2, passed: 2, skipped: 0 });
  assert.not.match(splitSummary(colored).body, /Total:|Passed:/);
  const crashed = 'SyntaxError: Unexpected token\n';
  assert.equal(
    splitSummary(crashed),
    { counts: undefined, body: crashed },
    'no summary: kept whole, counted as failed',
  );
});

test('in a quick run, starting a real part fails, naming the marker; outside one it is allowed', () => {
  const before = process.env[quickRunVariable];
  try {
    process.env[quickRunVariable] = '1';
    assert.throws(() => refuseInQuickRun('An sshd'), /^An sshd started in npm run test:quick.*@real-parts/);
    delete process.env[quickRunVariable];
    refuseInQuickRun('An sshd');
  } finally {
    if (before === undefined) delete process.env[quickRunVariable];
    else process.env[quickRunVariable] = before;
  }
});

test('test ports: below the ephemeral range, each held by its process, and a dead process’s claim is released', async () => {
  const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
  assert.is(new Set(ports).size, ports.length, `no port handed out twice: ${ports}`);
  for (const port of ports) {
    assert.ok(port < low, `${port} is below the ephemeral range (${low} and up)`);
    assert.is(readFileSync(join(PORT_CLAIMS, String(port)), 'utf8'), String(process.pid));
  }
  // A claim whose process is gone (a pid above the kernel's pid_max cannot live), and one of a living process.
  const dead = join(PORT_CLAIMS, '19999');
  const living = join(PORT_CLAIMS, '19998');
  writeFileSync(dead, '99999999');
  writeFileSync(living, String(process.ppid));
  releaseDeadClaims();
  assert.not.ok(existsSync(dead), 'the dead process’s claim is released');
  assert.ok(existsSync(living), 'the living process’s claim is kept');
  rmSync(living);
});

test.run();
