/**
 * Text that reaches a terminal. Names people choose (display names, key names, friendly names)
 * are shown by the CLI and on the camera's console; a name carrying ESC/CSI/OSC sequences could
 * rewrite the screen, hide lines or set the clipboard. The device refuses such names
 * (`hasControlCharacters`), and every output escapes whatever still gets through
 * (`escapeTerminalText`), e.g. from an old state file or a hostile camera.
 *
 * Refused and escaped: C0 controls (U+0000-U+001F), DEL, C1 controls (U+0080-U+009F, which
 * some terminals read as CSI/OSC on their own), and the bidirectional overrides and isolates
 * (U+202A-U+202E, U+2066-U+2069) that make text read differently from what it is.
 */

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
// eslint-disable-next-line no-control-regex
const CONTROL_ALL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const CONTROL_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function hasControlCharacters(value: string): boolean {
  return CONTROL.test(value);
}

function escapeOne(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `value` with every control character written as a visible escape (`\x1b`, `\u202e`). With
 * `keepNewlines`, "\n" stays (for multi-line text we composed ourselves).
 */
export function escapeTerminalText(value: string, options: { keepNewlines?: boolean } = {}): string {
  return value.replace(options.keepNewlines ? CONTROL_BUT_NEWLINE : CONTROL_ALL, escapeOne);
}
