/**
 * The health gate: every endpoint must answer 2xx within the timeout. Probes run from this
 * machine; each probe has its own short timeout so a hung endpoint cannot stall the gate.
 */
import { setTimeout as sleep } from 'node:timers/promises';

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
