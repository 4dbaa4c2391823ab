// The kernel benchmark's data (bench/kernel/data.mjs) agrees with itself: the desired state is the table with
// exactly the changes the ipvsadm lines make, and the revert lines take it back. The benchmark checks its outputs
// against ipvsadm's, but a reconcile that planned something else than the lines would go unnoticed there.

import { describe, expect, it } from 'vitest';
import { benchData } from '../bench/kernel/data.mjs';
import { Ipvs } from '../src/client.js';
import { plan, applyPlan } from '../src/reconcile/index.js';
import { isTableOperation, iterateRules, parseRules, toClientOperation } from '../src/rules/index.js';
import { FakeKernel } from '../src/testing/index.js';

async function run(ipvs: Ipvs, text: string): Promise<void> {
  const ops = parseRules(text).filter(isTableOperation).map(toClientOperation);
  const results = await ipvs.execute(ops);
  expect(results.filter((r) => !('ok' in r) || !r.ok)).toEqual([]);
}

async function save(ipvs: Ipvs): Promise<string> {
  let text = '';
  for await (const chunk of iterateRules(ipvs, { numeric: true })) text += chunk;
  return text;
}

describe('the kernel benchmark data', () => {
  it('plans exactly the change lines, and the revert lines undo them', async () => {
    const data = benchData(400, 4);
    const edits = data.changes();
    expect(edits).toHaveLength(16); // 1% of 1 600 destinations
    await using ipvs = await Ipvs.open({ transport: new FakeKernel().transport() });
    await run(ipvs, data.saveText());
    const base = await save(ipvs);
    expect(base.split('\n')).toHaveLength(400 * 5 + 1);

    const p = await plan(ipvs, data.changedState(edits));
    const kinds = p.steps.map((s) => s.operation.op).sort();
    expect(kinds).toEqual([...Array(4).fill('add-destination'), ...Array(4).fill('delete-destination'), ...Array(8).fill('update-destination')]);
    expect((await applyPlan(ipvs, p)).ok).toBe(true);
    const planned = await save(ipvs);

    await run(ipvs, data.revertRules(edits));
    expect(await save(ipvs)).toBe(base);
    await run(ipvs, data.changeRules(edits));
    expect(await save(ipvs)).toBe(planned);
    expect((await plan(ipvs, data.changedState(edits))).inSync).toBe(true);
  });
});
