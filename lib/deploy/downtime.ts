/**
 * The downtime a deploy causes, measured rather than claimed: while the deploy or rollback runs,
 * a probe asks the front every 20 ms (one request at a time, each on a new connection as a webhook
 * sender makes it, each with its own timeout) and counts the answers that failed and the longest
 * time without a good answer.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Chart } from '../charts.ts';
import { probeChart } from './probe-chart.ts';

export interface Downtime {
  url: string;
  everyMs: number;
  requests: number;
  failed: number;
  /** Longest time between two good answers (or from the start/to the end), in ms. */
  longestGapMs: number;
  /** What the first failed request got, when one failed. */
  firstFailure?: string;
  /** Nothing answered when the run started (a first deploy): its failures were no one's downtime. */
  downBefore?: boolean;
}

export interface Sample {
  at: number;
  ok: boolean;
  /** The status or error of a failed request. */
  failure?: string;
}

/** Pure: the figures from the samples, in the order they were taken. */
export function summarize(url: string, samples: Sample[], started: number, ended: number, everyMs = 20): Downtime {
  let lastGood = started;
  let longest = 0;
  for (const s of samples) {
    if (!s.ok) continue;
    longest = Math.max(longest, s.at - lastGood);
    lastGood = s.at;
  }
  // A deploy that ends while the front still fails: the gap runs to the end.
  if (samples.length && !samples[samples.length - 1].ok) longest = Math.max(longest, ended - lastGood);
  const first = samples.find((s) => !s.ok);
  return {
    url,
    everyMs,
    requests: samples.length,
    failed: samples.filter((s) => !s.ok).length,
    longestGapMs: Math.round(longest),
    ...(first?.failure ? { firstFailure: first.failure } : {}),
    ...(samples.length && !samples[0].ok ? { downBefore: true } : {}),
  };
}

export function describeDowntime(d: Downtime): string {
  return (
    `${d.failed} of ${d.requests} requests to ${d.url} failed (one every ${d.everyMs} ms); ` +
    `longest gap without a good answer ${d.longestGapMs} ms` +
    (d.firstFailure ? `; the first failure: ${d.firstFailure}` : '') +
    (d.downBefore ? '; nothing answered when the run started, so these count from before it' : '')
  );
}

/** Starts probing `url`; `stop` ends it and returns the figures. */
export function startDowntimeProbe(url: string, everyMs = 20): { stop(): Promise<Downtime & { chart: Chart }> } {
  const samples: Sample[] = [];
  const started = performance.now();
  let running = true;
  const loop = (async () => {
    while (running) {
      const at = performance.now();
      const failure = await askOnce(url, 2000);
      samples.push({ at: performance.now(), ok: !failure, ...(failure ? { failure } : {}) });
      const wait = everyMs - (performance.now() - at);
      if (wait > 0 && running) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const ended = performance.now();
      return { ...summarize(url, samples, started, ended, everyMs), chart: probeChart(samples, started, ended) };
    },
  };
}

/** One request on a connection of its own (no keep-alive to reuse); undefined when it answered 2xx, else why not. */
function askOnce(url: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const request = (url.startsWith('https:') ? httpsRequest : httpRequest)(
      url,
      { agent: false, timeout: timeoutMs },
      (response) => {
        const status = response.statusCode ?? 0;
        response.resume();
        response.on('end', () => resolve(status >= 200 && status < 300 ? undefined : `answered ${status}`));
        response.on('error', (error) => resolve(error.message));
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error) => resolve(error.message));
    request.end();
  });
}
