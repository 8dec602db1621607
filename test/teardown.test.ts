/**
 * Nothing left running: a test that fails with an engine, a container, a registry and an sshd
 * still up, run through the same runner as `npm test` (scripts/test.ts), leaves none of them,
 * and no containerd shim either. @real-parts: the runner it starts starts them (an engine, a
 * registry, an sshd), so npm run test:quick leaves it out.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

test('after a failed test, the runner stops the engine (containers first), its shims, the registry and the sshd', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cleanup-teardown-'));
  try {
    const pidsFile = join(root, 'pids.json');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'scripts/test.ts', 'test/fixtures/teardown', '\\.fixture\\.ts$', '-c=false'],
      {
        env: {
          ...process.env,
          CLEANUP_TEST_DOCKER_DIR: join(root, 'docker'),
          TEARDOWN_DIR: root,
          TEARDOWN_PIDS: pidsFile,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.is(code, 1, output);
    assert.ok(existsSync(pidsFile), `the fixture got as far as starting everything:\n${output}`);
    const pids: { name: string; pid: number }[] = JSON.parse(readFileSync(pidsFile, 'utf8'));
    assert.equal(
      [...new Set(pids.map((p) => p.name))].sort(),
      ['containerd', 'dockerd', 'registry', 'shim', 'sshd'],
      JSON.stringify(pids),
    );
    assert.equal(
      pids.filter((p) => alive(p.pid)),
      [],
      'all of them are gone',
    );
    assert.match(output, /stopped Docker engines leftover \(containers first\)/);
    assert.match(output, /test run: nothing left running/);
    assert.not.match(readFileSync('/proc/mounts', 'utf8'), root, 'no mount left under the engine folder');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
