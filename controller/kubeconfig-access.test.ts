import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadKubeConfig } from './kubeconfig-access.ts';

describe("the controller's --kubeconfig", () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctl-kubeconfig-'));
  const failure = (path: string): string => {
    try {
      loadKubeConfig(path, {});
    } catch (error) {
      return (error as Error).message;
    }
    return 'loaded';
  };

  it('that is not YAML fails in one line that quotes none of it', () => {
    const path = join(dir, 'broken');
    writeFileSync(path, 'apiVersion: v1\nusers:\n- name: admin\n  user:\n    token: s3cr3t-token-value\n    bad: [unclosed\n');
    const message = failure(path);
    expect(message).toBe(`cannot load --kubeconfig ${path}: its content is not a valid kubeconfig; check it with kubectl config view`);
    expect(message).not.toMatch(/s3cr3t/);
  });

  it('that is missing says so', () => {
    expect(failure(join(dir, 'absent'))).toMatch(/^cannot read --kubeconfig .*absent \(ENOENT\); check the path/);
  });
});
