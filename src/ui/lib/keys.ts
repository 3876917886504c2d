// One keyboard handler at a time (the current page's), never while the user types in a field.
let handler: ((e: KeyboardEvent) => boolean) | null = null;

export function setKeyHandler(h: ((e: KeyboardEvent) => boolean) | null): void {
  handler = h;
}

document.addEventListener('keydown', (e) => {
  if (!handler || e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target as HTMLElement | null;
  if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) return;
  if (handler(e)) e.preventDefault();
});
