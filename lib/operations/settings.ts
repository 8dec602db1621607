/** The settings of what a run does around itself: hooks before and after, a notification, the audit log. */
import { setting, type Setting } from '../settings.ts';

/** Telegram's Bot API: https://api.telegram.org/bot<token>/sendMessage?chat_id=<id>. */
export const telegramPath = /^\/bot[^/]+\/sendMessage$/;

/**
 * NOTIFY_URL is a secret as a whole (a Slack webhook's path is its token, a Telegram URL holds the
 * bot's token), so it is registered for redaction and never printed; messages name its origin only.
 */
function notifyUrl(help: string): Setting<string | undefined> {
  const url = setting.url(help);
  return {
    help,
    secret: true,
    example: 'https://hooks.slack.com/services/T000/B000/XXXX',
    parse(raw) {
      if (raw === undefined || raw.trim() === '') return { value: undefined };
      const parsed = url.parse(raw);
      if ('problem' in parsed) return { problem: parsed.problem.replace(`"${raw.trim()}"`, '(value hidden)') };
      if (telegramPath.test(parsed.value.pathname) && !parsed.value.searchParams.get('chat_id'))
        return { problem: 'is a Telegram sendMessage URL without ?chat_id=<id>: add the chat to send to' };
      return { value: raw.trim() };
    },
  };
}

export const operationSettings = {
  NOTIFY_URL: notifyUrl(
    'webhook told when a run applies, fails or --check finds changes: Slack/Mattermost, or ' +
      'Telegram https://api.telegram.org/botTOKEN/sendMessage?chat_id=ID; empty: none',
  ),
  HOOKS_DIR: setting.string(
    'folder of executable hooks: pre-TASK runs before that task applies (failing stops the run), post-TASK after',
    'hooks',
  ),
};
