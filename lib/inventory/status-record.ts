/** The status document's record of one run (plan section 3, UPDATE): what it removed and updated, and how to undo it. */
export function statusRecord(run: string, when: Date, removed: string[], edited: string[]): string {
  return [
    '',
    `## Clean-up of ${when.toISOString().slice(0, 10)} (run ${run})`,
    '',
    'Removed by the clean-up (plan sections 1-3):',
    ...removed.map((p) => `- \`${p}\``),
    ...(edited.length ? ['', 'Updated to match:', ...edited.map((p) => `- \`${p}\``)] : []),
    '',
    `Undo: \`npm run clean:inventory -- --restore ${run}\`.`,
    '',
  ].join('\n');
}
