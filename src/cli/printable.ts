// Text that came from a file or the network, made safe to print on a terminal: a state file's unknown key, a
// rules line's words, JSON.parse's excerpt of the text it refused, a check's detail. Written as it is, an
// escape sequence in it (ESC [ 2 J clears the screen; ESC ] 0 ; ... BEL retitles the window; some terminals
// answer queries as if typed) would act on the terminal of whoever runs `ipvs` (root), and a newline would
// forge a line of the log (so would a carriage return, over the line on screen). Control characters are
// written as `\u001b`-style escapes, as JSON writes them; everything else is unchanged, non-ASCII text
// included. Tab, vertical tab and form feed are left as they are: blanks that move the cursor and nothing
// else, and ones ipvsadm keeps inside a word of a rules line (`rr\v`), so that the sentences `ipvs -R` prints
// for such a word stay ipvsadm's, byte for byte (test/kernel/restore-diff.kernel.test.ts).

// C0 controls but tab, vertical tab and form feed; DEL; the C1 controls (0x9b is a one-byte CSI to some terminals).
const CONTROL = /[\x00-\x08\x0a\x0d-\x1f\x7f-\x9f]/;
const CONTROLS = /[\x00-\x08\x0a\x0d-\x1f\x7f-\x9f]/g;

/** `text` with its control characters (but \t, \v, \f) escaped as `\u001b`; the same string when it has none. */
export function printable(text: string): string {
  if (!CONTROL.test(text)) return text;
  return text.replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
