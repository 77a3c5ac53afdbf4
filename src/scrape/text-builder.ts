/** Text layout shared by the whole-page and main-content renderers: which elements break lines, and a line builder. */
import { isTag, isText, type AnyNode, type Element } from 'domhandler';

/** Content that is never rendered as text. */
export const HIDDEN = new Set(['script', 'style', 'noscript', 'template', 'svg', 'iframe', 'object', 'canvas', 'select', 'datalist']);

/** Elements that stand apart from their neighbours by a blank line. */
export const PARAGRAPHS = new Set([
  'title', 'p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'pre', 'blockquote', 'table', 'ul', 'ol', 'dl', 'hr', 'figure',
  'section', 'article', 'header', 'footer', 'form', 'fieldset', 'nav', 'main', 'aside', 'address', 'details', 'hgroup',
]);

/** Elements that start and end a line. */
export const LINES = new Set([
  'html', 'body', 'div', 'li', 'dt', 'dd', 'tr', 'caption', 'thead', 'tbody', 'tfoot', 'figcaption', 'summary', 'legend',
  'center', 'search', 'dialog', 'menu', 'option',
]);

/** Table cells on one row stay on one line, kept apart by a space. */
export const CELLS = new Set(['td', 'th']);

/**
 * Characters that render as nothing: soft hyphens (hyphenation hints some sites put in every long word),
 * zero-width spaces, word joiners, byte-order marks. Left in, they split words for every reader of the text.
 * (Zero-width joiners and non-joiners stay: they shape Persian and emoji.)
 */
const INVISIBLE = /[\u00ad\u200b\u2060\ufeff]/g;

/** Builds text line by line: runs of whitespace collapse, lines are trimmed, blank lines never repeat. */
export class TextBuilder {
  private readonly lines: string[] = [];
  private line = '';
  /** Separator owed before the next non-empty line: 1 newline, 2 a blank line. */
  private pending = 0;

  add(text: string): void {
    this.line += text;
  }

  /** A block boundary; `gap` 2 asks for a blank line. */
  boundary(gap: 1 | 2): void {
    const text = this.line.replace(INVISIBLE, '').replace(/\s+/g, ' ').trim();
    this.line = '';
    if (text) {
      if (this.pending === 2 && this.lines.length > 0) this.lines.push('');
      this.lines.push(text);
      this.pending = 0;
    }
    this.pending = Math.max(this.pending, gap);
  }

  /** <br>: a second one in a row makes a blank line, as it does on screen. */
  lineBreak(): void {
    const emptyLine = !this.line.trim();
    this.boundary(1);
    if (emptyLine && this.lines.length > 0) this.pending = 2;
  }

  toString(): string {
    this.boundary(1);
    return this.lines.join('\n');
  }
}


/** Inside <pre> a newline is a line break; elsewhere it is just whitespace. */
function addText(text: TextBuilder, data: string, pre: boolean): void {
  if (!pre) return text.add(data);
  const parts = data.split('\n');
  parts.forEach((part, i) => {
    if (i > 0) text.lineBreak();
    text.add(part);
  });
}


type Frame = { node: AnyNode; visible: boolean; pre: boolean } | { leave: Element; gap: 1 | 2 | 0; cell: boolean };

export interface RenderOptions {
  /** Leaves an element and its subtree out of the text. */
  skip?: (el: Element) => boolean;
  /** Elements whose content is never text (default HIDDEN). */
  hidden?: ReadonlySet<string>;
  /**
   * Called for every element, hidden ones included (their subtrees are then walked too, without
   * adding text): the whole-page pass collects image references and <title> this way.
   */
  visit?: (el: Element, name: string, visible: boolean) => void;
}

/** The text of some subtrees: blocks apart by a blank line, list items and <br> by a line break, cells by a space. */
export function renderText(roots: readonly AnyNode[], options: RenderOptions = {}): string {
  const { skip, hidden = HIDDEN, visit } = options;
  const text = new TextBuilder();
  // An explicit stack, not recursion: hostile pages nest elements deep enough to overflow the call stack.
  const stack: Frame[] = [...roots].reverse().map((node) => ({ node, visible: true, pre: false }));
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if ('leave' in frame) {
      if (frame.gap) text.boundary(frame.gap);
      if (frame.cell) text.add(' ');
      continue;
    }
    const { node, visible, pre } = frame;
    if (isText(node)) {
      if (visible) addText(text, node.data, pre);
      continue;
    }
    if (!isTag(node)) continue;
    const name = node.name.toLowerCase();
    visit?.(node, name, visible);
    if (name === 'br') {
      if (visible) text.lineBreak();
      continue;
    }
    const childVisible = visible && !hidden.has(name) && !skip?.(node);
    // Without a visitor nothing below an invisible element matters.
    if (!childVisible && !visit) continue;
    const gap = !childVisible ? 0 : PARAGRAPHS.has(name) ? 2 : LINES.has(name) ? 1 : 0;
    const cell = childVisible && CELLS.has(name);
    if (gap) text.boundary(gap);
    if (cell) text.add(' ');
    stack.push({ leave: node, gap, cell });
    const childPre = pre || name === 'pre' || name === 'textarea' || name === 'listing';
    for (let i = node.children.length - 1; i >= 0; i--) stack.push({ node: node.children[i]!, visible: childVisible, pre: childPre });
  }
  return text.toString();
}

/** The raw text of a subtree (hidden elements included), without recursion. */
export function textContent(node: AnyNode): string {
  let out = '';
  const stack: AnyNode[] = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (isText(n)) out += n.data;
    else if (isTag(n)) for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
  }
  return out;
}
