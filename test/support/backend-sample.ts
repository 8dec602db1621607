/**
 * A sample backend that really deploys: the plan's repository (createBackendRepo) plus a
 * Dockerfile.webhook built from the busybox base image (its httpd serves /health), a compose
 * file with the webhook API and a real nginx front on host ports (its configuration and ssl/
 * mounted from the project, as the user's compose file has them), and a test_webhook_system.py.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBackendRepo } from './inventory-repo.ts';

export const COMPOSE = `version: '2.4'
services:
  webhook-api:
    image: \${WEBHOOK_IMAGE}
    network_mode: host
    command: ["httpd", "-f", "-p", "127.0.0.1:\${WEBHOOK_PORT}", "-h", "/www"]
  nginx:
    image: \${NGINX_IMAGE}
    network_mode: host
    volumes:
      - ./nginx/conf.d:/etc/nginx/conf.d:ro
      - type: bind
        source: ./ssl
        target: /etc/nginx/ssl
        read_only: true
`;

/** The front's configuration: plain HTTP and TLS (its certificate in ssl/), both proxying to the API. */
export function frontConfig(ports: SamplePorts): string {
  const proxy = `  location / {\n    proxy_pass http://127.0.0.1:${ports.api};\n  }\n`;
  return `server {\n  listen 127.0.0.1:${ports.front};\n${proxy}}\nserver {\n  listen 127.0.0.1:${ports.tls} ssl;\n  ssl_certificate /etc/nginx/ssl/webhook.crt;\n  ssl_certificate_key /etc/nginx/ssl/webhook.key;\n${proxy}}\n`;
}

export interface SamplePorts {
  api: number;
  front: number;
  tls: number;
}

export const TEST_SCRIPT = `#!/usr/bin/env python3
"""The backend's own system test: every webhook endpoint answers its health check."""
import os, sys, urllib.request
urls = os.environ.get("WEBHOOK_URLS", "http://127.0.0.1:8001/health,http://127.0.0.1:8002/health").split(",")
failed = 0
for url in urls:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            print(f"PASS {url} {r.status}")
    except Exception as e:
        failed += 1
        print(f"FAIL {url} {e}")
print(f"{len(urls) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
`;

const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, ...args], { stdio: 'ignore' });

export function createSampleBackend(dir: string, ports: SamplePorts): string {
  createBackendRepo(dir);
  mkdirSync(join(dir, 'nginx/conf.d'), { recursive: true });
  writeFileSync(join(dir, 'nginx/conf.d/webhook.conf'), frontConfig(ports));
  mkdirSync(join(dir, 'ssl'), { recursive: true });
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-keyout', join(dir, 'ssl/webhook.key'), '-out', join(dir, 'ssl/webhook.crt')], { stdio: 'ignore' });
  writeFileSync(join(dir, 'api_server/Dockerfile.webhook'), 'FROM cleanup-test/busybox:base\nCOPY www /www\nCMD ["httpd", "-f", "-p", "127.0.0.1:8001", "-h", "/www"]\n');
  mkdirSync(join(dir, 'api_server/www'), { recursive: true });
  writeFileSync(join(dir, 'api_server/www/health'), 'ok\n');
  writeFileSync(join(dir, 'docker-compose.webhook.prod.yml'), COMPOSE);
  writeFileSync(join(dir, 'scripts/test_webhook_system.py'), TEST_SCRIPT);
  // Its documents mention nothing the clean-up removes, except what MERGE rewrites itself.
  writeFileSync(join(dir, 'docs/PLANNING.md'), '# Planning\n\nNext: the webhook API only.\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'webhook API and nginx front');
  return dir;
}

/** A new revision whose image is broken: it no longer serves /health. */
export function breakHealth(dir: string): void {
  rmSync(join(dir, 'api_server/www/health'));
  writeFileSync(join(dir, 'api_server/www/index.html'), 'no health here\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'a broken release');
}

/** A commit that changes only documentation: nothing the deploy builds or ships. */
export function docsOnlyCommit(dir: string): void {
  writeFileSync(join(dir, 'docs/PLANNING.md'), '# Planning\n\nNext: the webhook API only, then monitoring.\n');
  git(dir, 'commit', '-q', '-am', 'docs only');
}

/** A new, healthy revision serving `note` at /version. */
export function newRevision(dir: string, note: string): void {
  writeFileSync(join(dir, 'api_server/www/health'), 'ok\n');
  writeFileSync(join(dir, 'api_server/www/version'), `${note}\n`);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', note);
}
