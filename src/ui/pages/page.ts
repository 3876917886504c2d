// What every page gets from the shell, and what it gives back.
import type { Route, TimeRange } from '../lib/state.js';

export interface PageContext {
  route: Route;
  range: TimeRange;
  /** True when the shell's auto-refresh (not the user) asked for this render. */
  refresh: boolean;
  /** False once the user has moved on; a page drops results that arrive after that. */
  current(): boolean;
  /** Renders the page again (after an action changed its data). */
  reload(): void;
}

export interface Page {
  title(route: Route): string;
  /** Fetches its data and replaces `root`'s children (once, when all is fetched, so nothing flickers). */
  render(root: HTMLElement, ctx: PageContext): Promise<void>;
}
