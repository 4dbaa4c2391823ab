// Compiled by the project's typecheck and, under exactOptionalPropertyTypes, by test/types/exact-optional.test.ts:
// a prepared run's refused line carries the ValidationError execute() would throw, typed so (it was `unknown`).
import { prepareRules, PreparedRun } from '../../src/index.js';

export function refusedFields(text: string): string[] {
  const fields: string[] = [];
  for (const step of prepareRules(text)) if (step instanceof PreparedRun && step.invalid) fields.push(`line ${step.invalid.rule.line}: ${step.invalid.error.field}`);
  return fields;
}
