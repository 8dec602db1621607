/** What the deploy tests read off a plan or report, in the plan's words (lib/deploy/steps.ts). */

type Report = { figures: { label: string; value: string }[] };

/** The steps of a deploy up to its pull: the new release is built, pushed and shipped. */
export const SHIP_STEPS = ['lock', 'build', 'push', 'mark deploy under way', 'ship', 'pull'];

/** The steps of a deploy beside the serving release, from its start to the front's settle. */
export const BESIDE_STEPS = ['start beside', 'switch front', 'health gate', 'drain', 'remove old', 'settle front'];

export const figure = (report: Report, label: string) => report.figures.find((f) => f.label === label)?.value;

/** The deploy's probe through the front: at least 100 requests (one every 20 ms), none failed. */
export const zeroDowntime = (report: Report) => {
  const [, failed, requests] = /^(\d+) of (\d+) requests/.exec(figure(report, 'downtime') ?? '') ?? [];
  return Number(failed) === 0 && Number(requests) >= 100;
};
