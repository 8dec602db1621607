/**
 * The health gate: every endpoint must answer 2xx within the timeout. Probes run from this
 * machine; each probe has its own short timeout so a hung endpoint cannot stall the gate. And
 * section 7's "works stably": probes spread over a window.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Check } from '../task.ts';

export interface Probe {
  url: string;
  ok: boolean;
  status?: number;
  ms: number;
  error?: string;
}

export async function probe(url: string, timeoutMs = 3000): Promise<Probe> {
  const started = performance.now();
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return { url, ok: response.ok, status: response.status, ms: performance.now() - started };
  } catch (error) {
    return { url, ok: false, ms: performance.now() - started, error: (error as Error).message };
  }
}

/** Waits until every URL answers healthy; returns the last probes (all ok, or the failing ones). */
export async function waitHealthy(
  urls: string[],
  timeoutMs: number,
  signal?: AbortSignal,
  probeTimeoutMs = 3000,
): Promise<{ healthy: boolean; probes: Probe[] }> {
  const deadline = Date.now() + timeoutMs;
  let probes: Probe[] = [];
  while (true) {
    probes = await Promise.all(urls.map((url) => probe(url, probeTimeoutMs)));
    if (probes.every((p) => p.ok)) return { healthy: true, probes };
    if (Date.now() > deadline || signal?.aborted) return { healthy: false, probes };
    await sleep(500);
  }
}

export function describeProbe(p: Probe): string {
  return `${p.url}: ${p.ok ? `${p.status} in ${p.ms.toFixed(0)} ms` : p.status ? `answered ${p.status}` : `no answer (${p.error})`}`;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** "Webhook API works stably": every probe over the window answers 2xx. */
export async function stability(urls: string[], probes: number, windowSeconds: number): Promise<Check> {
  const results = [];
  for (let i = 0; i < probes; i++) {
    results.push(...(await Promise.all(urls.map((url) => probe(url)))));
    if (i < probes - 1) await sleep((windowSeconds * 1000) / Math.max(1, probes - 1));
  }
  const failed = results.filter((r) => !r.ok);
  const ms = results
    .filter((r) => r.ok)
    .map((r) => r.ms)
    .sort((a, b) => a - b);
  const at = (p: number) => percentile(ms, p).toFixed(1);
  const latency = ms.length
    ? `latency min ${at(0)} / median ${at(50)} / p95 ${at(95)} / max ${ms[ms.length - 1].toFixed(1)} ms`
    : 'no answer';
  return {
    name: 'webhook API works stably',
    passed: failed.length === 0,
    figure: `${results.length - failed.length} of ${results.length} probes healthy over ${windowSeconds}s; ${latency}`,
    ...(failed.length
      ? {
          detail: failed
            .slice(0, 5)
            .map((f) => `${f.url}: ${f.status ?? f.error}`)
            .join('\n'),
        }
      : {}),
  };
}
