import { describe, expect, it } from 'vitest';

import { evaluate, type IamAttributes } from '../../../src/shared/iam/policy-engine';
import { parseIamConfig, type IamConfig, type IamStatement } from '../../../src/shared/iam/schema';

/** A config with one role "R" whose policies are P0, P1, ... holding the given statements. */
function roleWithPolicies(...policies: IamStatement[][]): IamConfig {
  return parseIamConfig({
    Version: 1,
    Config: {},
    Policies: policies.map((statements, index) => ({ Id: `P${index}`, Statements: statements })),
    Roles: [{ Id: 'R', Policies: policies.map((_statements, index) => `P${index}`) }],
  });
}

function effectOf(config: IamConfig, action: string, attributes?: IamAttributes): 'allow' | 'deny' {
  return evaluate(config, 'R', action, attributes).effect;
}

const allowRead: IamStatement = { Effect: 'Allow', Actions: ['Test:Read'] };
const denyRead: IamStatement = { Effect: 'Deny', Actions: ['Test:Read'] };

describe('evaluate', () => {
  it('allows what a statement of the role allows, and says which one', () => {
    const config = roleWithPolicies([{ Effect: 'Allow', Actions: ['Test:Other'] }], [allowRead]);
    expect(evaluate(config, 'R', 'Test:Read')).toEqual({
      effect: 'allow',
      reason: 'Test:Read: allowed by role "R", policy "P1", Statements[0]',
    });
  });

  it('denies when no statement lists the action', () => {
    const config = roleWithPolicies([allowRead, { Effect: 'Allow', Actions: ['Test:Write'] }]);
    expect(evaluate(config, 'R', 'Test:Delete')).toEqual({
      effect: 'deny',
      reason: 'Test:Delete: no statement of role "R" allows it',
    });
    expect(effectOf(config, 'test:read')).toBe('deny');
  });

  it('lets Deny win over Allow, whichever comes first', () => {
    expect(evaluate(roleWithPolicies([allowRead], [denyRead]), 'R', 'Test:Read')).toEqual({
      effect: 'deny',
      reason: 'Test:Read: denied by role "R", policy "P1", Statements[0]',
    });
    expect(effectOf(roleWithPolicies([denyRead], [allowRead]), 'Test:Read')).toBe('deny');
    expect(effectOf(roleWithPolicies([allowRead, denyRead]), 'Test:Read')).toBe('deny');
  });

  it('ignores a Deny whose conditions do not match', () => {
    const denyGuestsOnly: IamStatement = { Effect: 'Deny', Actions: ['Test:Read'], Conditions: [{ StringEquals: { 'User:Kind': ['guest'] } }] };
    const config = roleWithPolicies([allowRead, denyGuestsOnly]);
    expect(effectOf(config, 'Test:Read', { 'User:Kind': 'owner' })).toBe('allow');
    expect(effectOf(config, 'Test:Read', { 'User:Kind': 'guest' })).toBe('deny');
  });

  it('matches a condition when the attribute equals any of its values', () => {
    const config = roleWithPolicies([{ Effect: 'Allow', Actions: ['Test:Read'], Conditions: [{ StringEquals: { 'IAM:Username': ['alice', 'bob'] } }] }]);
    expect(effectOf(config, 'Test:Read', { 'IAM:Username': 'alice' })).toBe('allow');
    expect(effectOf(config, 'Test:Read', { 'IAM:Username': 'bob' })).toBe('allow');
    expect(effectOf(config, 'Test:Read', { 'IAM:Username': 'carol' })).toBe('deny');
    expect(effectOf(config, 'Test:Read', { 'IAM:Username': 'Alice' })).toBe('deny');
  });

  it('needs all conditions of a statement to match', () => {
    const config = roleWithPolicies([
      {
        Effect: 'Allow',
        Actions: ['Test:Read'],
        Conditions: [{ StringEquals: { 'IAM:Username': ['alice'] } }, { Bool: { 'Connection:IsLocal': ['true'] } }],
      },
    ]);
    expect(effectOf(config, 'Test:Read', { 'IAM:Username': 'alice', 'Connection:IsLocal': true })).toBe('allow');
    expect(effectOf(config, 'Test:Read', { 'IAM:Username': 'alice', 'Connection:IsLocal': false })).toBe('deny');
    expect(effectOf(config, 'Test:Read', { 'IAM:Username': 'bob', 'Connection:IsLocal': true })).toBe('deny');
  });

  it('does not match a condition on a missing attribute', () => {
    const config = roleWithPolicies([{ Effect: 'Allow', Actions: ['Test:Read'], Conditions: [{ StringNotEquals: { 'IAM:Username': ['alice'] } }] }]);
    expect(effectOf(config, 'Test:Read', {})).toBe('deny');
    expect(effectOf(config, 'Test:Read', { 'IAM:Username': 'bob' })).toBe('allow');
  });

  describe('variables', () => {
    const ownUser = roleWithPolicies([
      { Effect: 'Allow', Actions: ['IAM:GetUser'], Conditions: [{ StringEquals: { 'IAM:Username': ['${Connection:Username}'] } }] },
    ]);

    it('resolves ${Connection:Username} from the request attributes', () => {
      expect(effectOf(ownUser, 'IAM:GetUser', { 'Connection:Username': 'alice', 'IAM:Username': 'alice' })).toBe('allow');
      expect(effectOf(ownUser, 'IAM:GetUser', { 'Connection:Username': 'alice', 'IAM:Username': 'bob' })).toBe('deny');
    });

    it('skips a value whose variable is missing instead of comparing the literal text', () => {
      expect(effectOf(ownUser, 'IAM:GetUser', { 'IAM:Username': '${Connection:Username}' })).toBe('deny');
    });

    it('resolves any attribute name, e.g. ${Connection:UserId} and ${IAM:Username}', () => {
      const config = roleWithPolicies([
        {
          Effect: 'Allow',
          Actions: ['Test:Read'],
          Conditions: [{ StringEquals: { 'Resource:Owner': ['${Connection:UserId}', '${IAM:Username}'] } }],
        },
      ]);
      expect(effectOf(config, 'Test:Read', { 'Resource:Owner': 'u1', 'Connection:UserId': 'u1' })).toBe('allow');
      expect(effectOf(config, 'Test:Read', { 'Resource:Owner': 'bob', 'IAM:Username': 'bob' })).toBe('allow');
      expect(effectOf(config, 'Test:Read', { 'Resource:Owner': 'u1', 'Connection:UserId': 'u2' })).toBe('deny');
    });

    it('treats text around a variable as a literal, and "${}" as a variable that never resolves', () => {
      const config = roleWithPolicies([{ Effect: 'Allow', Actions: ['Test:Read'], Conditions: [{ StringEquals: { a: ['${}', 'x${b}'] } }] }]);
      expect(effectOf(config, 'Test:Read', { a: 'x${b}', b: 'nope' })).toBe('allow');
      expect(effectOf(config, 'Test:Read', { a: '${}' })).toBe('deny');
    });
  });

  describe('operators', () => {
    function allowsWith(condition: IamStatement['Conditions'], attributes: IamAttributes): 'allow' | 'deny' {
      return effectOf(roleWithPolicies([{ Effect: 'Allow', Actions: ['Test:Read'], Conditions: condition }]), 'Test:Read', attributes);
    }

    it('compares numbers numerically, from numbers or strings', () => {
      const lessThan10 = [{ NumericLessThan: { n: ['10'] } }];
      expect([allowsWith(lessThan10, { n: 9 }), allowsWith(lessThan10, { n: '9.5' }), allowsWith(lessThan10, { n: 10 }), allowsWith(lessThan10, { n: '100' })]).toEqual([
        'allow', 'allow', 'deny', 'deny',
      ]);
      expect(allowsWith([{ NumericEquals: { n: ['1e1'] } }], { n: 10 })).toBe('allow');
      expect(allowsWith([{ NumericNotEquals: { n: ['10'] } }], { n: '10.0' })).toBe('deny');
      expect(allowsWith([{ NumericLessThanEquals: { n: ['10'] } }], { n: 10 })).toBe('allow');
      expect(allowsWith([{ NumericGreaterThan: { n: ['10'] } }], { n: 10 })).toBe('deny');
      expect(allowsWith([{ NumericGreaterThanEquals: { n: ['-1'] } }], { n: -1 })).toBe('allow');
    });

    it('compares booleans', () => {
      expect(allowsWith([{ Bool: { 'Connection:IsLocal': ['true'] } }], { 'Connection:IsLocal': true })).toBe('allow');
      expect(allowsWith([{ Bool: { 'Connection:IsLocal': ['false'] } }], { 'Connection:IsLocal': 'false' })).toBe('allow');
      expect(allowsWith([{ Bool: { 'Connection:IsLocal': ['true'] } }], { 'Connection:IsLocal': 'false' })).toBe('deny');
    });

    it('matches StringNotEquals when the attribute differs from any value (Nabto semantics)', () => {
      const condition = [{ StringNotEquals: { u: ['alice', 'bob'] } }];
      expect(allowsWith(condition, { u: 'carol' })).toBe('allow');
      expect(allowsWith(condition, { u: 'alice' })).toBe('allow');
      expect(allowsWith([{ StringNotEquals: { u: ['alice'] } }], { u: 'alice' })).toBe('deny');
    });

    it('denies the whole request when a condition cannot be evaluated, even if another statement allows', () => {
      const config = roleWithPolicies([allowRead, { Effect: 'Allow', Actions: ['Test:Read'], Conditions: [{ NumericLessThan: { n: ['10'] } }] }]);
      expect(evaluate(config, 'R', 'Test:Read', { n: 'ten' })).toEqual({
        effect: 'deny',
        reason: 'Test:Read: role "R", policy "P0", Statements[1]: NumericLessThan on "n" cannot compare "ten" with "10"',
      });
      expect(evaluate(config, 'R', 'Test:Read', { n: 'ten' }).effect).toBe('deny');
      expect(allowsWith([{ Bool: { b: ['true'] } }], { b: 'yes' })).toBe('deny');
      expect(allowsWith([{ NumericEquals: { n: ['0x10'] } }], { n: 16 })).toBe('deny');
    });
  });

  describe('roles', () => {
    const config = roleWithPolicies([allowRead]);

    it('denies an unknown role', () => {
      expect(evaluate(config, 'Owner', 'Test:Read')).toEqual({
        effect: 'deny',
        reason: 'Test:Read: role "Owner" is not defined in the IAM config',
      });
    });

    it('denies a connection without a role', () => {
      expect(evaluate(config, undefined, 'Test:Read')).toEqual({ effect: 'deny', reason: 'Test:Read: the connection has no role' });
    });

    it('denies when the role names a policy the config lacks, even after an Allow', () => {
      const broken: IamConfig = { ...config, Roles: [{ Id: 'R', Policies: ['P0', 'Gone'] }] };
      expect(evaluate(broken, 'R', 'Test:Read')).toEqual({ effect: 'deny', reason: 'Test:Read: role "R" names undefined policy "Gone"' });
    });

    it('denies on a malformed condition in a config that was not validated', () => {
      const broken: IamConfig = {
        ...config,
        Policies: [{ Id: 'P0', Statements: [{ Effect: 'Allow', Actions: ['Test:Read'], Conditions: [{ StringEquals: { a: ['1'] }, Bool: { b: ['true'] } }] }] }],
      };
      expect(evaluate(broken, 'R', 'Test:Read', { a: '1', b: true }).effect).toBe('deny');
    });
  });
});
