import type { TaskStore } from '../models/task-store.js';
import type { PageInfo, Task } from '../models/task.js';
import { simhash } from '../scrape/simhash.js';
import type { FetchedPage, PageFetcher } from './page.js';
import { fetchPage } from './page.js';
import { telemetry } from '../ops/telemetry.js';
import { RightsReservedError, withholds } from './rights-policy.js';

export interface TextTaskDeps {
  store: TaskStore;
  pages: PageFetcher;
}

/** Fetch, extract, and record the text in the task's format before the task may be marked succeeded. */
export async function runTextTask(task: Task, deps: TextTaskDeps, signal: AbortSignal, onPage?: (page: FetchedPage) => void): Promise<PageInfo> {
  const format = task.format ?? 'text';
  // The main content is extracted for every format: the metadata's word count and language are measured on it.
  const page = await fetchPage(deps.pages, task.url, { main: true, markdown: format === 'markdown' }, signal, task.refresh);
  onPage?.(page);
  if (withholds(deps.pages.rights, page.info.rights)) {
    telemetry.rightsRefused({ url: task.url, owner: task.owner });
    throw new RightsReservedError(page.info);
  }
  const text = page.texts[format];
  if (text === undefined) throw new Error(`the page was extracted without its ${format} text`);
  await deps.store.saveText(task.id, text);
  telemetry.stored({ bytes: Buffer.byteLength(text), owner: task.owner, url: task.url });
  return { ...page.info, textLength: text.length, simhash: simhash(text), metadata: page.metadata };
}
