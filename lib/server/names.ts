/** Container-name patterns of the settings (SERVER_STOP_NAMES, SERVER_REMOVE_NAMES): shell globs. */

/** `*` any run of characters, `?` one character, `[abc]` one of them; the whole name must match. */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) source += '\\[';
      else {
        source += `[${pattern
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else source += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** The first pattern that matches the name, if any (so a reason can quote it). */
export function matchingPattern(name: string, patterns: readonly string[] = []): string | undefined {
  return patterns.find((p) => globToRegExp(p).test(name));
}
