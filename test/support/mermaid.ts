/**
 * Mermaid's own parser for the charts of a Markdown report. `@mermaid-js/parser` has no grammar
 * for `xychart-beta` (it covers info, packet, pie, architecture, gitGraph, radar, treemap, …),
 * so this is `mermaid.parse`, which sanitizes titles with DOMPurify and so needs a DOM: jsdom's.
 */
import { JSDOM } from 'jsdom';

type Mermaid = { parse(text: string): Promise<{ diagramType: string }> };
let mermaid: Mermaid | undefined;

async function load(): Promise<Mermaid> {
  if (mermaid) return mermaid;
  const { window } = new JSDOM('');
  Object.assign(globalThis, { window, document: window.document });
  mermaid = (await import('mermaid')).default as unknown as Mermaid;
  return mermaid;
}

/** The fenced ```mermaid blocks of a Markdown text, without their fences. */
export function mermaidBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```mermaid\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

/** Parses one chart; throws Mermaid's own error when it is not valid. */
export async function parseMermaid(text: string): Promise<string> {
  return (await (await load()).parse(text)).diagramType;
}
