// A list paged by cursor: its "load more" button. The first page comes with the list; a click asks for the next one
// with the cursor the last page gave, hands it to the page, and hides the button once no cursor is left.
import type { Result } from './api.js';
import { h } from './dom.js';

export interface Pager {
  button: HTMLButtonElement;
  /** The cursor of the next page; null once the list is whole. */
  cursor(): string | null;
}

/**
 * The button that pages a list in: `load(cursor)` asks for the next page (the button disabled meanwhile); a page
 * answered moves the cursor, then goes to `onPage`; a failure goes to `onError` (the page says it) and the cursor stays.
 */
export function pager<T extends { next_cursor: string | null }>(o: {
  first: string | null;
  label: string;
  id?: string;
  load: (cursor: string) => Promise<Result<T>>;
  onPage: (page: T) => void;
  onError: (r: Extract<Result<T>, { ok: false }>) => void;
}): Pager {
  let cursor = o.first;
  const button: HTMLButtonElement = h(
    'button',
    {
      type: 'button',
      hidden: !cursor,
      id: o.id,
      onclick: async () => {
        if (!cursor) return;
        button.disabled = true;
        const r = await o.load(cursor);
        button.disabled = false;
        if (!r.ok) {
          o.onError(r);
          return;
        }
        cursor = r.data.next_cursor;
        button.hidden = !cursor;
        o.onPage(r.data);
      },
    },
    o.label,
  );
  return { button, cursor: () => cursor };
}
