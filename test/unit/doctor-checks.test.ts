import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cronPathCheck, fontsCheck, nodeCheck, satisfiesRange } from '../../src/cli/commands/doctor/checks.js';

const dir = mkdtempSync(join(tmpdir(), 'txplan-doctor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('doctor checks', () => {
  it('reads engines ranges', () => {
    expect(satisfiesRange('20.11.1', '>=20')).toBe(true);
    expect(satisfiesRange('18.19.0', '>=20')).toBe(false);
    expect(satisfiesRange('22.1.0', '^20.9 || ^22')).toBe(true);
    expect(satisfiesRange('21.0.0', '^20.9 || ^22')).toBe(false);
    expect(satisfiesRange('20.0.0', 'lts/*')).toBeUndefined();
    expect(nodeCheck('18.19.0', '>=20')).toMatchObject({ name: 'node', status: 'fail', message: expect.stringContaining('>=20') });
  });

  it('a missing handout font fails naming the file, and a package that is not installed too', () => {
    const root = join(dir, 'noto');
    mkdirSync(join(root, '400Regular'), { recursive: true });
    writeFileSync(join(root, '400Regular', 'A.ttf'), 'font');
    const files = [{ pkg: 'noto', file: '400Regular/A.ttf' }, { pkg: 'noto', file: '700Bold/B.ttf' }, { pkg: 'gone', file: 'C.ttf' }];
    const packageRoot = (pkg: string) => {
      if (pkg === 'gone') throw new Error('not found');
      return root;
    };
    const check = fontsCheck(files, packageRoot);
    expect(check).toMatchObject({ name: 'fonts', status: 'fail', fix: expect.stringContaining('reinstall txplan') });
    expect(check.message).toContain('noto/700Bold/B.ttf');
    expect(check.message).toContain('gone (not installed)');
    expect(check.message).not.toContain('A.ttf');
    expect(fontsCheck(files.slice(0, 1), packageRoot).status).toBe('ok');
  });

  it('txplan missing from cron’s PATH is a warning with the absolute path as the fix', () => {
    const none = cronPathCheck(['/usr/bin', '/bin'], '/opt/txplan/bin/txplan', '/opt/node/bin', () => false);
    expect(none).toMatchObject({ name: 'cron-path', status: 'warn' });
    expect(none.fix).toContain('/opt/txplan/bin/txplan');
    expect(none.fix).toContain('PATH=/opt/txplan/bin:/opt/node/bin:/usr/bin:/bin');
    expect(cronPathCheck(['/usr/bin', '/bin'], '/usr/bin/txplan', '/usr/bin', (f) => f.startsWith('/usr/bin/')).status).toBe('ok');
    expect(cronPathCheck(['/usr/bin', '/bin'], '/usr/bin/txplan', '/opt/node/bin', (f) => f === '/usr/bin/txplan')).toMatchObject({ status: 'warn', message: expect.stringContaining('node is not') });
  });
});
