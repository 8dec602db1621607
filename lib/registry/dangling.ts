/**
 * Tags that list but no longer resolve. Distribution deletes a manifest in two steps: it removes
 * the revision first, then looks up and removes every tag on it. When the lookup fails halfway
 * (a tag link being rewritten at that moment reads as empty on the filesystem driver, and the
 * whole DELETE answers 500 "invalid checksum digest format"), the revision is gone but the tag
 * stays: `tags/list` shows it, `GET manifests/<tag>` answers 404 (distribution issue #2514 is
 * the same race). A pull of it fails already, so nothing is lost by removing it; the plan shows
 * each such tag as its own change, and a rerun after an interrupted delete finishes it.
 */
import type { Change, Refusal } from '../plan.ts';
import { rulesFor, type RegistryPolicy } from './policy.ts';
import { appendTo } from '../group.ts';

export interface DanglingTag {
  repository: string;
  tag: string;
}

export type UnlinkOp = { kind: 'unlink'; repository: string; tags: string[] };

export const DANGLING_REASON =
  'the tag lists but its manifest is gone (a delete was cut halfway: the registry removed the image, then failed to remove the tag); pulling it already fails';

/** One change per repository removing its dangling tags; a protected one is refused instead. */
export function planDanglingTags(
  dangling: readonly DanglingTag[],
  policy: RegistryPolicy,
): { changes: Change<UnlinkOp>[]; refused: Refusal[] } {
  const byRepository = new Map<string, string[]>();
  const refused: Refusal[] = [];
  for (const { repository, tag } of [...dangling].sort((a, b) =>
    `${a.repository}:${a.tag}`.localeCompare(`${b.repository}:${b.tag}`),
  )) {
    if (rulesFor(policy, repository).protectTags.includes(tag)) {
      refused.push({
        target: `${repository}:${tag}`,
        reason: `protected production tag, but ${DANGLING_REASON}`,
        remedy: `push the image to ${repository}:${tag} again`,
      });
      continue;
    }
    appendTo(byRepository, repository, tag);
  }
  const changes = [...byRepository].map(([repository, tags]) => ({
    action: 'remove dangling tag',
    target: tags.map((tag) => `${repository}:${tag}`).join(', '),
    reason: DANGLING_REASON,
    bytes: 0,
    op: { kind: 'unlink' as const, repository, tags },
  }));
  return { changes, refused };
}
