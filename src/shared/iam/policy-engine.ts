// The IAM policy engine: may a role perform an action, given the request's attributes?
//
// The semantics are Nabto Edge's (nabto-embedded-sdk src/modules/iam/nm_iam_internal.c and
// policies/nm_policy.c, nm_statement.c, nm_condition.c), so a Nabto config decides the same here:
//   - The role's policies are evaluated in order, each policy's statements in order.
//   - A statement applies when the action is in its Actions and every condition matches.
//   - A condition matches when the attribute is present and matches ANY of the listed values under
//     the operator. (So `StringNotEquals` with values [a, b] matches every attribute value, as none
//     equals both a and b. That is Nabto's rule; to exclude several values, Deny with StringEquals.)
//   - A value `${Name}` is replaced by the attribute Name; a value whose variable is missing is
//     skipped, never compared.
//   - A condition that cannot be evaluated (a numeric operator on a non-number, Bool on something
//     other than "true"/"false") makes the whole decision deny, like Nabto's error effect.
//   - Deny wins over Allow; no applicable statement means deny; an unknown role, a missing role or
//     a role naming an undefined policy means deny.

import { conditionParts, type ConditionOperator, type IamCondition, type IamConfig } from './schema';

/** Attribute names the device puts into requests (Nabto's names). */
export const IamAttributeNames = {
  /** The requesting user's username; absent for unpaired connections. */
  ConnectionUsername: 'Connection:Username',
  /** "true" when the client connected from the local network. */
  ConnectionIsLocal: 'Connection:IsLocal',
  /** The user a request about a user (GetUser, DeleteUser, SetUser*) is about. */
  IamUsername: 'IAM:Username',
  /** The role a SetUserRole request wants to give. */
  IamRoleId: 'IAM:RoleId',
} as const;

export type IamAttributes = Readonly<Record<string, string | number | boolean>>;

export interface IamDecision {
  readonly effect: 'allow' | 'deny';
  /** Which role/policy/statement decided, or why nothing did; meant for a log line. */
  readonly reason: string;
}

type ConditionResult = { readonly kind: 'match' } | { readonly kind: 'no-match' } | { readonly kind: 'error'; readonly why: string };

const MATCH: ConditionResult = { kind: 'match' };
const NO_MATCH: ConditionResult = { kind: 'no-match' };

/** Decide whether `roleId` may perform `action`. Never throws. */
export function evaluate(
  config: IamConfig,
  roleId: string | undefined,
  action: string,
  attributes: IamAttributes = {},
): IamDecision {
  if (roleId === undefined) return deny(`${action}: the connection has no role`);
  const role = config.Roles.find((candidate) => candidate.Id === roleId);
  if (role === undefined) return deny(`${action}: role "${roleId}" is not defined in the IAM config`);

  const values = stringAttributes(attributes);
  let allowedBy: string | undefined;
  for (const policyId of role.Policies) {
    const policy = config.Policies.find((candidate) => candidate.Id === policyId);
    if (policy === undefined) return deny(`${action}: role "${roleId}" names undefined policy "${policyId}"`);

    for (const [index, statement] of policy.Statements.entries()) {
      if (!statement.Actions.includes(action)) continue;
      const where = `role "${roleId}", policy "${policyId}", Statements[${index}]`;
      const result = matchConditions(statement.Conditions ?? [], values);
      if (result.kind === 'error') return deny(`${action}: ${where}: ${result.why}`);
      if (result.kind === 'no-match') continue;
      if (statement.Effect === 'Deny') return deny(`${action}: denied by ${where}`);
      allowedBy ??= where;
    }
  }
  if (allowedBy !== undefined) return { effect: 'allow', reason: `${action}: allowed by ${allowedBy}` };
  return deny(`${action}: no statement of role "${roleId}" allows it`);
}

function deny(reason: string): IamDecision {
  return { effect: 'deny', reason };
}

/** Nabto's attributes are strings; numbers and booleans become "42" and "true"/"false". */
function stringAttributes(attributes: IamAttributes): ReadonlyMap<string, string> {
  return new Map(Object.entries(attributes).map(([name, value]) => [name, String(value)]));
}

/** All conditions must match; the first that does not (or cannot be evaluated) decides. */
function matchConditions(conditions: readonly IamCondition[], attributes: ReadonlyMap<string, string>): ConditionResult {
  for (const condition of conditions) {
    const result = matchCondition(condition, attributes);
    if (result.kind !== 'match') return result;
  }
  return MATCH;
}

function matchCondition(condition: IamCondition, attributes: ReadonlyMap<string, string>): ConditionResult {
  const parts = conditionParts(condition);
  if (parts === undefined) return { kind: 'error', why: 'a condition does not have exactly one operator and one attribute' };
  const actual = attributes.get(parts.attribute);
  if (actual === undefined) return NO_MATCH;

  for (const value of parts.values) {
    const expected = resolveValue(value, attributes);
    if (expected === undefined) continue;
    const result = compare(parts.operator, actual, expected);
    if (result.kind === 'error') {
      return { kind: 'error', why: `${parts.operator} on "${parts.attribute}" cannot compare "${actual}" with "${expected}"` };
    }
    if (result.kind === 'match') return MATCH;
  }
  return NO_MATCH;
}

/** `${Name}` becomes the attribute Name (undefined when absent); anything else is literal. */
function resolveValue(value: string, attributes: ReadonlyMap<string, string>): string | undefined {
  if (value.length >= 3 && value.startsWith('${') && value.endsWith('}')) {
    return attributes.get(value.slice(2, -1));
  }
  return value;
}

function compare(operator: ConditionOperator, actual: string, expected: string): ConditionResult {
  switch (operator) {
    case 'StringEquals':
      return verdict(actual === expected);
    case 'StringNotEquals':
      return verdict(actual !== expected);
    case 'Bool': {
      const [left, right] = [parseBool(actual), parseBool(expected)];
      return left === undefined || right === undefined ? { kind: 'error', why: 'not a boolean' } : verdict(left === right);
    }
    case 'NumericEquals':
    case 'NumericNotEquals':
    case 'NumericLessThan':
    case 'NumericLessThanEquals':
    case 'NumericGreaterThan':
    case 'NumericGreaterThanEquals': {
      const [left, right] = [parseNumber(actual), parseNumber(expected)];
      if (left === undefined || right === undefined) return { kind: 'error', why: 'not a number' };
      return verdict(compareNumbers(operator, left, right));
    }
  }
}

function compareNumbers(operator: Exclude<ConditionOperator, 'StringEquals' | 'StringNotEquals' | 'Bool'>, left: number, right: number): boolean {
  switch (operator) {
    case 'NumericEquals':
      return left === right;
    case 'NumericNotEquals':
      return left !== right;
    case 'NumericLessThan':
      return left < right;
    case 'NumericLessThanEquals':
      return left <= right;
    case 'NumericGreaterThan':
      return left > right;
    case 'NumericGreaterThanEquals':
      return left >= right;
  }
}

function verdict(matches: boolean): ConditionResult {
  return matches ? MATCH : NO_MATCH;
}

function parseBool(value: string): boolean | undefined {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return undefined;
}

/** A decimal number, as Nabto's strtod-based parser accepts (hex, inf and nan are not supported). */
const DECIMAL_PATTERN = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function parseNumber(value: string): number | undefined {
  return DECIMAL_PATTERN.test(value) ? Number(value) : undefined;
}
