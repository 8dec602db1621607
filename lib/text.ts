/** Text as a literal inside a regular expression: every character that means something there is escaped. */
export const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
