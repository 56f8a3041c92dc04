import { describe, expect, it } from 'vitest';
import { conditionLabels, createMetrics } from './metrics.ts';

const sealed = { metadata: { namespace: 'shop', name: 'stripe-prod-key' } };

describe('metrics', () => {
  it('exports one condition_info series per SealedSecret by default', async () => {
    const metrics = createMetrics('test');
    metrics.conditionInfo.set(conditionLabels(sealed), 1);
    expect(await metrics.registry.metrics()).toMatch(/^sealed_secrets_controller_condition_info\{namespace="shop",name="stripe-prod-key",.*\} 1$/m);
  });

  it('with omitSecretLabels exports no condition_info at all, and the rest as usual', async () => {
    const metrics = createMetrics('test', { omitSecretLabels: true });
    metrics.conditionInfo.set(conditionLabels(sealed), 1);
    metrics.unsealErrors.inc({ reason: 'unseal', namespace: 'shop' });
    const text = await metrics.registry.metrics();
    expect(text).not.toMatch(/condition_info|stripe-prod-key/);
    expect(text).toMatch(/^sealed_secrets_controller_unseal_errors_total\{reason="unseal",namespace="shop"\} 1$/m);
  });
});
