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
    const text = this.line.replace(/\s+/g, ' ').trim();
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
export function addText(text: TextBuilder, data: string, pre: boolean): void {
  if (!pre) return text.add(data);
  const parts = data.split('\n');
  parts.forEach((part, i) => {
    if (i > 0) text.lineBreak();
    text.add(part);
  });
}


type RenderFrame = { node: AnyNode; pre: boolean } | { leave: Element; gap: 1 | 2 | 0; cell: boolean };

/**
 * The text of some subtrees, laid out like the whole page's text; `skip` leaves an element and its
 * subtree out (hidden content is always left out).
 */
export function renderText(roots: readonly AnyNode[], skip: (el: Element) => boolean = () => false, hidden: ReadonlySet<string> = HIDDEN): string {
  const text = new TextBuilder();
  const stack: RenderFrame[] = [...roots].reverse().map((node) => ({ node, pre: false }));
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if ('leave' in frame) {
      if (frame.gap) text.boundary(frame.gap);
      if (frame.cell) text.add(' ');
      continue;
    }
    const { node, pre } = frame;
    if (isText(node)) {
      addText(text, node.data, pre);
      continue;
    }
    if (!isTag(node)) continue;
    const name = node.name.toLowerCase();
    if (name === 'br') {
      text.lineBreak();
      continue;
    }
    if (hidden.has(name) || skip(node)) continue;
    const gap = PARAGRAPHS.has(name) ? 2 : LINES.has(name) ? 1 : 0;
    if (gap) text.boundary(gap);
    const cell = CELLS.has(name);
    if (cell) text.add(' ');
    stack.push({ leave: node, gap, cell });
    const childPre = pre || name === 'pre' || name === 'textarea' || name === 'listing';
    for (let i = node.children.length - 1; i >= 0; i--) stack.push({ node: node.children[i]!, pre: childPre });
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
