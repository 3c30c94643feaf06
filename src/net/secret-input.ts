/**
 * Secrets given to our command-line programs (pairing strings, passwords, remote-access strings,
 * the TURN secret). A command-line argument is readable by every local user in
 * /proc/PID/cmdline and `ps` for as long as the process runs, so each secret can also come from
 * a file (`--…-file PATH`, `-` for standard input) or an environment variable; given as an
 * argument it still works, with a warning, and the process title is overwritten at once.
 */
import { promises as fs } from 'node:fs';

export class SecretInputError extends Error {
  override name = 'SecretInputError';
}

export interface SecretSpec {
  /** The argument's flag, e.g. "--password". */
  flag: string;
  /** The file flag, e.g. "--password-file". */
  fileFlag: string;
  /** The environment variable, e.g. "LANCAM_PASSWORD". */
  envName: string;
  /** The value given as an argument ("-" = read standard input). */
  value?: string | undefined;
  /** The file given ("-" = standard input). */
  file?: string | undefined;
}

export interface SecretReadOptions {
  env?: NodeJS.ProcessEnv;
  warn?: (line: string) => void;
  readStdin?: () => Promise<string>;
}

/** Reads one secret from its argument, file, standard input or environment; undefined if none. */
export async function readSecret(spec: SecretSpec, options: SecretReadOptions = {}): Promise<string | undefined> {
  const env = options.env ?? process.env;
  const fromEnv = env[spec.envName];
  const given = [spec.value !== undefined ? spec.flag : undefined, spec.file !== undefined ? spec.fileFlag : undefined].filter((x) => x !== undefined);
  if (given.length > 1) throw new SecretInputError(`${spec.flag} and ${spec.fileFlag} exclude each other`);
  if (spec.value === '-' || spec.file === '-') return clean(await (options.readStdin ?? readStdin)(), 'standard input', spec.flag);
  if (spec.file !== undefined) {
    let text: string;
    try {
      const stat = await fs.stat(spec.file);
      if (stat.size > 64 * 1024) throw new SecretInputError(`${spec.fileFlag} ${spec.file}: too large for a secret (${stat.size} bytes)`);
      text = await fs.readFile(spec.file, 'utf8');
      if ((stat.mode & 0o077) !== 0) options.warn?.(`warning: ${spec.file} can be read by other users (mode ${(stat.mode & 0o777).toString(8)}); chmod 600 it`);
    } catch (err) {
      if (err instanceof SecretInputError) throw err;
      throw new SecretInputError(`cannot read ${spec.fileFlag} ${spec.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    return clean(text, spec.file, spec.fileFlag);
  }
  if (spec.value !== undefined) {
    options.warn?.(`warning: ${spec.flag} on the command line can be read by every local user (ps, /proc); use ${spec.fileFlag} FILE, ${spec.fileFlag} - (standard input) or $${spec.envName}`);
    return spec.value;
  }
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return undefined;
}

/** One line: a trailing newline (from `echo` or an editor) is not part of the secret. */
function clean(text: string, where: string, flag: string): string {
  const value = text.replace(/\r?\n$/, '');
  if (value === '') throw new SecretInputError(`${flag}: ${where} is empty`);
  if (value.includes('\n')) throw new SecretInputError(`${flag}: ${where} must hold one line`);
  return value;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > 64 * 1024) throw new SecretInputError('standard input is too large for a secret');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Overwrites the process title, which on Linux also overwrites what /proc/PID/cmdline and `ps`
 * show (Node writes the title over the argument memory), so a secret given as an argument is
 * visible only for the moment before this runs. Our CLIs call it first thing, whatever the
 * arguments.
 */
export function maskProcessTitle(title: string): void {
  process.title = title;
}
