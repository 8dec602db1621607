/**
 * Timeouts of the deploy's remote steps, against real processes: a compose step that hangs on a
 * real ssh host is stopped at DEPLOY_COMPOSE_TIMEOUT_SECONDS with an error naming the host, the
 * step and the setting; a health endpoint that accepts and never answers fails its probe at the
 * probe timeout, so the gate ends on time and names the URL.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sshRunner } from '../lib/runner.ts';
import { composeStep, gate, type Server } from '../lib/deploy/deployer.ts';
import { startSshd, type Sshd } from '../sandbox/fixtures/sshd.ts';

let sshd: Sshd | undefined;
let silent: HttpServer | undefined;

test.after(async () => {
  await sshd?.stop();
  silent?.closeAllConnections();
  silent?.close();
});

test('a compose step that hangs on the deploy host stops at DEPLOY_COMPOSE_TIMEOUT_SECONDS, naming host and step', async () => {
  sshd = await startSshd();
  const runner = sshRunner(sshd.target);
  const server: Server = {
    runner,
    dir: '/tmp',
    target: { compose: 'docker-compose', project: 'p', file: '/tmp/none.yml' },
    composeTimeoutMs: 2_000,
  };
  const started = Date.now();
  try {
    const error = await composeStep(server, 'pull', ['sleep', '60']).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(error, 'the hung step failed');
    assert.match(
      error!.message,
      new RegExp(
        `^cleanup-ops@127\\.0\\.0\\.1:${sshd.target.port}: compose pull did not finish within 2 s and was stopped \\(\`sleep 60\`\\); the host or the step hangs\\. Check the host, or raise DEPLOY_COMPOSE_TIMEOUT_SECONDS\\.$`,
      ),
    );
    assert.ok(Date.now() - started < 40_000, `took ${Date.now() - started} ms`);
  } finally {
    await runner.close();
  }
});

test('a health endpoint that never answers fails each probe at the probe timeout; the gate ends on time naming the URL', async () => {
  silent = createServer(() => {
    // Accepts the request and never answers, as a hung backend does.
  });
  await new Promise<void>((resolve) => silent!.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/health`;
  const started = Date.now();
  const result = await gate([url], 2_000, 500);
  const took = Date.now() - started;
  assert.is(result.healthy, false);
  assert.match(
    result.detail,
    new RegExp(`^${url.replace(/[.:/]/g, '\\$&')}: no answer \\(.*(timeout|aborted).*\\)`, 'i'),
  );
  assert.ok(took >= 2_000 && took < 15_000, `the gate took ${took} ms`);
});

test.run();
