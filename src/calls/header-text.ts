// Header values as text. Node reads header bytes as latin1 (one char per byte), so a client sending UTF-8 (`fé`)
// arrives as `fÃ©`: decode such a value back when its bytes are valid UTF-8, and keep it as it came otherwise.

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The value with UTF-8 bytes decoded; an ASCII value (the common case) is returned after one scan, untouched. */
export function headerText(v: string): string {
  let i = 0;
  while (i < v.length && v.charCodeAt(i) < 0x80) i++;
  if (i === v.length) return v;
  for (let j = i; j < v.length; j++) if (v.charCodeAt(j) > 0xff) return v; // not bytes read as latin1
  try {
    return utf8.decode(Buffer.from(v, 'latin1'));
  } catch {
    return v; // not UTF-8 (a latin1 client): keep the characters it sent
  }
}
