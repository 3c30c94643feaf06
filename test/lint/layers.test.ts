/**
 * The layer rules of ARCHITECTURE.md are enforced by lint: a forbidden import fails `npm test`.
 * These tests lint small snippets as if they lived in each layer and check the verdict.
 */
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/processes';

const eslint = new ESLint({ cwd: REPO });

async function violations(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(REPO, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layer rules', () => {
  const cases: [string, string, boolean][] = [
    ['src/device/x.ts', "import { a } from '../companion/home';", false],
    ['src/device/iam/x.ts', "import { a } from '../../companion/home';", false],
    ['src/companion/x.ts', "import { a } from '../device/daemon';", false],
    ['src/net/x.ts', "import { a } from '../companion/home';", false],
    ['src/shared/x.ts', "import { a } from '../net/keys';", false],
    ['src/shared/x.ts', "import fs from 'node:fs';", false],
    ['src/companion/x.ts', "import { app } from 'electron';", false],
    ['src/device/x.ts', "import { app } from 'electron';", false],
    ['src/renderer/x.ts', "import { a } from '../companion/home';", false],
    ['src/renderer/x.ts', "import { app } from 'electron';", false],
    ['src/preload/x.ts', "import { a } from '../companion/home';", false],
    ['src/relay/x.ts', "import { a } from '../device/daemon';", false],
    ['src/net/x.ts', "import { a } from '../relay/relay-server';", false],
    ['src/device/x.ts', "import { a } from '../relay/relay-client';", true],
    // allowed
    ['src/device/x.ts', "import { a } from '../net/keys';", true],
    ['src/device/x.ts', "import { a } from '../shared/fingerprint';", true],
    ['src/companion/x.ts', "import { a } from '../net/keys';", true],
    ['src/main/x.ts', "import { app } from 'electron';", true],
    ['src/main/x.ts', "import { a } from '../companion/home';", true],
    ['src/preload/x.ts', "import { contextBridge } from 'electron';", true],
    ['src/renderer/x.ts', "import { a } from '../shared/fingerprint';", true],
    ['src/renderer/x.ts', "import type { LancamApi } from '../preload/api';", true],
  ];
  for (const [file, code, allowed] of cases) {
    it(`${allowed ? 'allows' : 'forbids'} in ${file}: ${code}`, async () => {
      const found = await violations(file, `${code}\nexport const x = 1;\n`);
      if (allowed) expect(found).toEqual([]);
      else expect(found.length).toBeGreaterThan(0);
    });
  }
});
