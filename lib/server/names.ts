/** Container-name patterns of the settings (SERVER_STOP_NAMES, SERVER_REMOVE_NAMES): shell globs. */
import picomatch from 'picomatch';

/**
 * sh's reading, not picomatch's defaults: `[!abc]` is "none of them" (posix), a leading `!` is a
 * character (nonegate: a pattern that matched everything else would stop or remove too much),
 * and `*` matches a leading dot too.
 */
const SH_GLOB = { dot: true, posix: true, nonegate: true } as const;

/** The first pattern that matches the whole name, if any (so a reason can quote it). */
export function matchingPattern(name: string, patterns: readonly string[] = []): string | undefined {
  return patterns.find((p) => picomatch.isMatch(name, p, SH_GLOB));
}
