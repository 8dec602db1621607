/**
 * One short message to NOTIFY_URL when a run applied something, failed, or a --check found
 * changes pending (Watchtower's notifications). A message that cannot be sent is a warning:
 * the run's own result stands. The URL is a secret; only its origin is ever named.
 */
import { messageOf } from '../errors.ts';
import type { RunFacts, RunOutcome } from './facts.ts';
import { telegramPath } from './settings.ts';

const SEND_TIMEOUT_MS = 10_000;

export interface Notification {
  url: string;
  body: string;
}

/** Whether this run is worth a message: quiet runs (nothing to do, plans only) send none. */
export function shouldNotify(outcome: RunOutcome): boolean {
  return (
    outcome.applied > 0 ||
    outcome.result === 'failed' ||
    outcome.result === 'changes pending' ||
    outcome.result === 'interrupted'
  );
}

export function notificationText(facts: RunFacts, outcome: RunOutcome): string {
  const lines = [
    `${facts.run} on ${facts.machine} (${facts.user}): ${outcome.result}`,
    outcome.totals,
    `applied ${outcome.applied}, failed ${outcome.failed}; run ${facts.runId}`,
  ];
  if (outcome.report) lines.push(`report: ${outcome.report}`);
  return lines.join('\n');
}

/** The request for a webhook URL: Telegram's sendMessage takes chat_id and text; Slack and Mattermost take text. */
export function notificationRequest(url: string, text: string): Notification {
  const parsed = new URL(url);
  if (telegramPath.test(parsed.pathname)) {
    const chatId = parsed.searchParams.get('chat_id');
    return { url: `${parsed.origin}${parsed.pathname}`, body: JSON.stringify({ chat_id: chatId, text }) };
  }
  return { url, body: JSON.stringify({ text }) };
}

/** Sends it; returns a warning to print when it could not be sent, naming the origin only. */
export async function sendNotification(url: string, text: string): Promise<string | undefined> {
  const request = notificationRequest(url, text);
  const origin = new URL(url).origin;
  try {
    const response = await fetch(request.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: request.body,
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
    // Drain the body so the connection closes and the process can exit.
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) return undefined;
    return `warning: the notification to ${origin} was refused (HTTP ${response.status}); the run's result stands.`;
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    return `warning: the notification to ${origin} could not be sent (${messageOf(cause ?? error)}); the run's result stands.`;
  }
}
