import { describe, expect, it } from 'vitest';
import { loadConfig, parseCutoffTime, parseKeyValues } from './config.ts';

const load = (args: string[] = [], env: Record<string, string> = {}) => loadConfig({ args, env, random: () => 'rnd' });

describe('controller configuration', () => {
  it('has upstream\'s defaults', () => {
    expect(load()).toMatchObject({
      keyPrefix: 'sealed-secrets-key',
      keySize: 4096,
      keyTtlMs: 87_600 * 3_600_000,
      myCn: '',
      keyRenewPeriodMs: 720 * 3_600_000,
      keyOrderPriority: 'CertNotBefore',
      acceptDeprecatedV1Data: true,
      allNamespaces: true,
      additionalNamespaces: [],
      labelSelector: '',
      rateLimit: 2,
      rateLimitBurst: 2,
      trustedProxyHops: 1,
      rateLimitRsaOps: 100,
      maxRequestRsaOps: 1000,
      oldGcBehavior: false,
      updateStatus: true,
      skipRecreate: false,
      logInfoStdout: true,
      logLevel: 'INFO',
      logFormat: 'text',
      maxUnsealRetries: 5,
      listenAddr: ':8080',
      listenMetricsAddr: ':8081',
      readTimeoutMs: 120_000,
      writeTimeoutMs: 120_000,
      namespace: 'default',
      leaderElect: true,
      leaseName: 'sealed-secrets-controller',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      certConfigMap: 'sealed-secrets-cert',
      identity: expect.stringMatching(/_rnd$/),
    });
  });

  it('takes every flag from SEALED_SECRETS_<FLAG> too; --additional-namespaces switches off all namespaces', () => {
    const config = load([], {
      SEALED_SECRETS_KEY_PREFIX: 'my-keys',
      SEALED_SECRETS_UPDATE_STATUS: 'false',
      SEALED_SECRETS_ADDITIONAL_NAMESPACES: 'a, b',
      SEALED_SECRETS_PRIVATEKEY_LABELS: 'team=x,env=prod',
      SEALED_SECRETS_KEY_RENEW_PERIOD: '24h',
      SEALED_SECRETS_CERT_CONFIGMAP: 'cm',
      POD_NAMESPACE: 'kube-system',
      POD_NAME: 'pod-1',
    });
    expect(config).toMatchObject({
      keyPrefix: 'my-keys', updateStatus: false, allNamespaces: false, additionalNamespaces: ['a', 'b'],
      privateKeyLabels: { team: 'x', env: 'prod' }, keyRenewPeriodMs: 86_400_000, certConfigMap: 'cm', namespace: 'kube-system', identity: 'pod-1_rnd',
    });
  });

  it('--trusted-proxy-hops, also as SEALED_SECRETS_TRUSTED_PROXY_HOPS, is a whole number >= 0', () => {
    expect(load(['--trusted-proxy-hops', '0']).trustedProxyHops).toBe(0);
    expect(load([], { SEALED_SECRETS_TRUSTED_PROXY_HOPS: '2' }).trustedProxyHops).toBe(2);
    expect(() => load(['--trusted-proxy-hops', '-1'])).toThrow(/invalid value "-1" for --trusted-proxy-hops/);
  });

  it('--key-backup-recipient: repeatable, comma-separated, from the environment; checked, with a one-line error', () => {
    const a = 'age19xe4e8egzfcsq0skdhyguynfl59s55ue0a4py6378tmxjmwnyczs3s0j5e';
    const b = 'age1j4qpyr800dstj236r975a9sjsq9q5j8el3ek0032m035vn04dspq7glh99';
    expect(load()).toMatchObject({ keyBackupRecipients: [], keyBackupConfigMap: 'sealed-secrets-key-backup' });
    expect(load(['--key-backup-recipient', a, '--key-backup-recipient', `${b},${a}`, '--key-backup-configmap', 'escrow']))
      .toMatchObject({ keyBackupRecipients: [a, b], keyBackupConfigMap: 'escrow' });
    expect(load([], { SEALED_SECRETS_KEY_BACKUP_RECIPIENT: `${a},${b}` }).keyBackupRecipients).toEqual([a, b]);
    expect(() => load(['--key-backup-recipient', 'age1short'])).toThrow(/^invalid --key-backup-recipient "age1short": use an age X25519 recipient, "age1" and 58 more characters/);
    expect(() => load(['--key-backup-configmap', 'Not_A_Name'])).toThrow(/^invalid --key-backup-configmap "Not_A_Name"/);
  });

  it('accepts the deprecated --rotate-period', () => {
    expect(load(['--rotate-period', '1h']).keyRenewPeriodMs).toBe(3_600_000);
  });

  it.each([
    [['--key-prefix', 'Bad_Prefix'], /invalid --key-prefix/],
    [['--log-level', 'LOUD'], /invalid --log-level/],
    [['--key-order-priority', 'Random'], /invalid --key-order-priority/],
    [['--key-renew-period', '30'], /invalid duration "30" for --key-renew-period/],
    [['--key-cutoff-time', '2026-01-01'], /invalid --key-cutoff-time/],
    [['--privatekey-labels', 'novalue'], /invalid entry "novalue" in --privatekey-labels/],
    [['--leader-elect-lease-duration', '5s', '--leader-elect-renew-deadline', '10s'], /invalid leader election timing: leaseDuration .* must be greater than renewDeadline/],
  ])('%j is refused with a one-line usage error', (args, message) => {
    expect(() => load(args)).toThrow(message);
  });

  it('parses `date -R` cutoff times and k=v lists', () => {
    expect(parseCutoffTime('Sat, 28 Nov 2026 01:02:03 +0100')?.toISOString()).toBe('2026-11-28T00:02:03.000Z');
    expect(parseKeyValues('a=1, b=x=y', '--f')).toEqual({ a: '1', b: 'x=y' });
  });
});
