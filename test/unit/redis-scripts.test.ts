/**
 * Lua has one home: every script is a file in src/redis/lua/ opening with its KEYS/ARGV
 * contract, defined once in src/redis/scripts.ts, shipped by the build, and nothing else in the
 * production code sends Lua text or defines a command of its own.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as scripts from '../../src/redis/scripts.js';

const root = join(import.meta.dirname, '../..');
const luaDir = join(root, 'src/redis/lua');
const luaFiles = readdirSync(luaDir).filter((f) => f.endsWith('.lua'));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

describe('Redis scripts', () => {
  it('open with a comment naming their KEYS and ARGV', () => {
    expect(luaFiles.length).toBeGreaterThan(0);
    for (const file of luaFiles) {
      const lines = readFileSync(join(luaDir, file), 'utf8').split('\n');
      const header = lines.slice(
        0,
        lines.findIndex((l) => !l.startsWith('--')),
      );
      expect(header.length, file).toBeGreaterThan(0);
      expect(header.join('\n'), file).toMatch(/KEYS\[1\]/);
      expect(header.join('\n'), file).toMatch(/ARGV\[1\]/);
    }
  });

  it('are each defined once, from a file that exists', () => {
    const defined = Object.values(scripts)
      .filter((s): s is typeof scripts.commitScript => typeof s === 'object' && 'sha' in s)
      .map((s) => `${s.name}.lua`);
    expect(defined.sort()).toEqual([...luaFiles].sort());
  });

  it('are the only Lua the production code sends', () => {
    const offenders = [...sources(join(root, 'src')), ...sources(join(root, 'workers'))]
      .filter((path) => !path.endsWith(join('src', 'redis', 'define-script.ts')))
      .filter((path) =>
        /\.eval(sha)?\(|defineCommand\(|redis\.call\(/.test(readFileSync(path, 'utf8')),
      )
      .map((path) => path.slice(root.length + 1));
    expect(offenders).toEqual([]);
  });

  it('ship with the build, next to the compiled module that reads them', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts: { build: string };
    };
    expect(pkg.scripts.build).toContain("cpSync('src/redis/lua', 'dist/src/redis/lua'");
  });
});
