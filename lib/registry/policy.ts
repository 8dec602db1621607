/**
 * The retention policy as a pure function: the tags of one repository in, one decision per tag
 * out, each with its reason. No I/O, so every rule is tested on plain data (test/registry-policy).
 *
 * Rules, in order of precedence:
 * 1. a protected tag is kept (the tags protected in every repository, and `repository:tag` pairs);
 * 2. a tag left on one of this tool's throwaway manifests (an interrupted untag) goes;
 * 3. a tag with a delete token goes: the tag is split on `-`, `_` and `.`, and a part that is the
 *    token, optionally followed by digits, matches (`test`, `ci-test-3`, `temp_1`, `debug.4`), so
 *    a token inside a word never does (`latest`, `attestation`, `contest`, `hotfix-attempt-2`);
 *    A tag a host's rollback pulls, or that names an image a host runs, is not deleted by it.
 * 4. a tag on an image a host runs or keeps for rollback stays (in use means kept), besides the
 *    newest N; a test tag on such an image is only untagged (the image itself stays).
 * 5. of the other tags, the newest N versions stay. A version is an image (a digest): tags on
 *    one digest share its fate. Newest means semver order when every such tag is a version,
 *    else the image's creation date; dates before 2000 or in the future are not believed, and
 *    such images rank after the dated ones, by version and then by natural name order.
 * 6. the age floor, over rules 2 to 5: a tag whose image was created less than `minAgeHours`
 *    ago is kept, whatever rule would delete it (a CI pipeline's `test-123` pushed a minute ago
 *    is still in use; GitLab's `older_than` and Harbor's "pushed within" are the models). An image
 *    without a readable creation date, or one dated before 2000 (reproducible builds date theirs
 *    1970), is not known to be fresh: the floor does not hold it. A date in the future (a skewed
 *    clock) counts as fresh.
 */
import { compareNatural, compareVersions, parseVersion, type Version } from './versions.ts';

export interface RepositoryRules {
  keepVersions: number;
  deleteTagTokens: string[];
  protectTags: string[];
  /** Rule 6: tags on images younger than this many hours are kept (0: no floor). */
  minAgeHours?: number;
}

export interface RegistryPolicy {
  keepVersions: number;
  /** Tokens that make a tag a test image (see rule 3); matched without regard to case. */
  deleteTagTokens: string[];
  /** Tags kept in every repository, whatever any other rule says (REGISTRY_PROTECT_TAGS). */
  protectTags?: string[];
  /** `repository:tag` pairs that are always kept. */
  protect: string[];
  /** Rule 6, the age floor in hours (REGISTRY_MIN_AGE_HOURS); 0 or absent: none. */
  minAgeHours?: number;
  /** Per-repository overrides of the version count and the delete tokens (never of protection). */
  repositories: Record<string, Partial<Omit<RepositoryRules, 'protectTags'>>>;
}

export function rulesFor(policy: RegistryPolicy, repository: string): RepositoryRules {
  const override = policy.repositories[repository] ?? {};
  const ownPairs = policy.protect
    .filter((ref) => ref.startsWith(`${repository}:`))
    .map((ref) => ref.slice(repository.length + 1));
  return {
    keepVersions: override.keepVersions ?? policy.keepVersions,
    deleteTagTokens: override.deleteTagTokens ?? policy.deleteTagTokens,
    protectTags: [...new Set([...(policy.protectTags ?? []), ...ownPairs])],
    minAgeHours: policy.minAgeHours ?? 0,
  };
}

/** The parts of a tag that token rules look at: split on `-`, `_` and `.`, lower case. */
export function tagTokens(tag: string): string[] {
  return tag
    .toLowerCase()
    .split(/[-_.]+/)
    .filter(Boolean);
}

/** The first delete token that one of the tag's parts is (optionally followed by digits). */
export function matchingToken(tag: string, tokens: readonly string[]): string | undefined {
  const parts = tagTokens(tag);
  return tokens.find((token) => {
    const wanted = token.toLowerCase();
    return parts.some((part) => part.startsWith(wanted) && /^[0-9]*$/.test(part.slice(wanted.length)));
  });
}

/** A delete token is one word: a letter, then letters or digits (no separators, no wildcards). */
export const TOKEN_SYNTAX = /^[A-Za-z][A-Za-z0-9]*$/;
/** A tag as the registry allows it. */
export const TAG_SYNTAX = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export interface TagInfo {
  tag: string;
  digest: string;
  /** The image config's `created`, when it was read. */
  created?: string;
  /** True when the tag points at a throwaway manifest of this tool. */
  leftover?: boolean;
}

export interface TagDecision {
  tag: string;
  digest: string;
  keep: boolean;
  reason: string;
}

const EARLIEST_BELIEVABLE = Date.parse('2000-01-01T00:00:00Z');

export function believableDate(created: string | undefined, now: number): number | undefined {
  if (!created) return undefined;
  const time = Date.parse(created);
  return Number.isFinite(time) && time >= EARLIEST_BELIEVABLE && time <= now + 86_400_000 ? time : undefined;
}

/** What hosts run or keep, per repository: digests and tags with the reason (see in-use.ts). */
export interface InUseHere {
  digests: ReadonlyMap<string, string>;
  tags: ReadonlyMap<string, string>;
}

const NOTHING_IN_USE: InUseHere = { digests: new Map(), tags: new Map() };

/** The tags rule 5 ranks: not protected, not leftovers, not test images, not in use. */
function candidates(tags: TagInfo[], rules: RepositoryRules, inUse: InUseHere = NOTHING_IN_USE): TagInfo[] {
  return tags.filter(
    (t) =>
      !rules.protectTags.includes(t.tag) &&
      !t.leftover &&
      !inUse.tags.has(t.tag) &&
      !matchingToken(t.tag, rules.deleteTagTokens) &&
      !inUse.digests.has(t.digest),
  );
}

/**
 * Whether this repository needs creation dates: ranking does when some candidate is not a version,
 * and the age floor does when some tag would be deleted.
 */
export function needsCreationDates(tags: TagInfo[], rules: RepositoryRules, now = Date.now()): boolean {
  const ranked = candidates(tags, rules);
  if (ranked.length > rules.keepVersions && ranked.some((t) => !parseVersion(t.tag))) return true;
  return Boolean(rules.minAgeHours) && decideRepository(tags, { ...rules, minAgeHours: 0 }, now).some((d) => !d.keep);
}

/** Rule 6: why a tag about to go is kept for its image's age, or undefined when the floor does not hold it. */
export function tooFresh(created: string | undefined, minAgeHours: number, now: number): string | undefined {
  if (!minAgeHours || !created) return undefined;
  const time = Date.parse(created);
  if (!Number.isFinite(time) || time < EARLIEST_BELIEVABLE) return undefined;
  const hours = (now - time) / 3_600_000;
  if (hours >= minAgeHours) return undefined;
  const age =
    hours < 0
      ? 'in the future (a skewed clock)'
      : hours < 1
        ? `${Math.round(hours * 60)} min ago`
        : `${hours.toFixed(1)} h ago`;
  return `too fresh to delete: its image was created ${age}, under REGISTRY_MIN_AGE_HOURS (${minAgeHours} h); a pipeline may still use it (rule 6)`;
}

interface Image {
  digest: string;
  tags: string[];
  version?: Version;
  date?: number;
}

function newestVersion(tags: string[]): Version | undefined {
  return tags
    .map(parseVersion)
    .filter((v): v is Version => Boolean(v))
    .sort((a, b) => compareVersions(b, a))[0];
}

function describe(image: Image, byVersion: boolean): string {
  if (byVersion || !image.date) return image.tags.join(', ');
  return `${image.tags.join(', ')} (created ${new Date(image.date).toISOString().slice(0, 10)})`;
}

export function decideRepository(
  tags: TagInfo[],
  rules: RepositoryRules,
  now = Date.now(),
  inUse: InUseHere = NOTHING_IN_USE,
): TagDecision[] {
  const decisions = new Map<string, TagDecision>();
  for (const t of tags) {
    const token = matchingToken(t.tag, rules.deleteTagTokens);
    const used = [
      ...new Set([inUse.tags.get(t.tag), inUse.digests.get(t.digest)].flatMap((r) => r?.split('; ') ?? [])),
    ].join('; ');
    if (rules.protectTags.includes(t.tag))
      decisions.set(t.tag, {
        tag: t.tag,
        digest: t.digest,
        keep: true,
        reason: 'protected tag: no rule deletes it (plan 4.3)',
      });
    else if (t.leftover)
      decisions.set(t.tag, {
        tag: t.tag,
        digest: t.digest,
        keep: false,
        reason: 'points at a throwaway manifest left by an interrupted untag',
      });
    else if (inUse.tags.has(t.tag))
      decisions.set(t.tag, { tag: t.tag, digest: t.digest, keep: true, reason: `in use: ${used}` });
    else if (token)
      decisions.set(t.tag, {
        tag: t.tag,
        digest: t.digest,
        keep: false,
        reason: `test image: the tag has the token "${token}" (plan 4.2)${used ? `; its image stays, since it ${used}` : ''}`,
      });
    else if (used) decisions.set(t.tag, { tag: t.tag, digest: t.digest, keep: true, reason: `in use: ${used}` });
  }

  const ranked = candidates(tags, rules, inUse);
  const byVersion = ranked.every((t) => parseVersion(t.tag));
  const images = new Map<string, Image>();
  for (const t of ranked) {
    const image = images.get(t.digest) ?? { digest: t.digest, tags: [] };
    image.tags.push(t.tag);
    const date = believableDate(t.created, now);
    if (date !== undefined) image.date = Math.max(image.date ?? 0, date);
    images.set(t.digest, image);
  }
  const order = [...images.values()];
  for (const image of order) {
    image.tags.sort(compareNatural);
    image.version = newestVersion(image.tags);
  }
  order.sort((a, b) => {
    if (!byVersion && (a.date !== undefined || b.date !== undefined)) {
      if (a.date === undefined) return 1;
      if (b.date === undefined) return -1;
      if (a.date !== b.date) return b.date - a.date;
    }
    if (a.version && b.version) {
      const byVer = compareVersions(b.version, a.version);
      if (byVer) return byVer;
    } else if (a.version || b.version) return a.version ? -1 : 1;
    return compareNatural(b.tags[b.tags.length - 1], a.tags[a.tags.length - 1]);
  });

  const basis = byVersion ? 'version order' : 'image creation date';
  const kept = order.slice(0, rules.keepVersions);
  const keptNames = kept.map((image) => describe(image, byVersion)).join('; ');
  // Every older image of the repository shares one reason (one per undated or not): the plan of
  // 50,000 tags keeps a reason per change, and a string built per image cost 10 MB there.
  const older = (undated: string) =>
    `older than the ${rules.keepVersions} newest versions by ${basis}${undated}; kept: ${keptNames} (plan 4.1)`;
  const olderReasons = new Map<string, string>();
  order.forEach((image, rank) => {
    const keep = rank < rules.keepVersions;
    const undated = !byVersion && image.date === undefined ? ', no believable creation date' : '';
    const reason = keep
      ? `one of the ${rules.keepVersions} newest versions (#${rank + 1} by ${basis}${undated}) (plan 4.1)`
      : (olderReasons.get(undated) ?? olderReasons.set(undated, older(undated)).get(undated)!);
    for (const tag of image.tags) decisions.set(tag, { tag, digest: image.digest, keep, reason });
  });
  // Rule 6 over rules 2 to 5; a tag left on this tool's own throwaway manifest is not an image anyone pushed.
  return tags.map((t) => {
    const decision = decisions.get(t.tag)!;
    const fresh = decision.keep || t.leftover ? undefined : tooFresh(t.created, rules.minAgeHours ?? 0, now);
    return fresh ? { ...decision, keep: true, reason: `${fresh}; otherwise: ${decision.reason}` } : decision;
  });
}
