/**
 * Password proofs with a fake clock: binding to the credential, expiry, voiding, consumption.
 */
import { describe, expect, it } from 'vitest';
import { credentialDigest, PasswordProofs } from '../../src/device/pairing/password-proof';
import type { IamState } from '../../src/shared/iam/schema';

function state(over: Partial<IamState> = {}): IamState {
  return {
    Version: 2,
    LocalInitialPairing: false,
    LocalOpenPairing: false,
    PasswordInvitePairing: true,
    PasswordOpenPairing: true,
    OpenPairingPassword: 'open-pw',
    OpenPairingRole: 'Guest',
    Users: [{ Username: 'bob', Role: 'Guest', Password: 'bob-pw', Fingerprints: [] }],
    ...over,
  } as IamState;
}

describe('PasswordProofs', () => {
  it('is bound to every field of the credential', () => {
    const base = credentialDigest(state(), 'bob');
    expect(base).toBeDefined();
    expect(credentialDigest(state({ Users: [{ Username: 'bob', Role: 'Administrator', Password: 'bob-pw', Fingerprints: [] }] }), 'bob')).not.toBe(base);
    expect(credentialDigest(state({ Users: [{ Username: 'bob', Role: 'Guest', Password: 'other', Fingerprints: [] }] }), 'bob')).not.toBe(base);
    expect(credentialDigest(state({ PasswordInvitePairing: false }), 'bob')).toBeUndefined();
    expect(credentialDigest(state(), 'nobody')).toBeUndefined();
    expect(credentialDigest(state({ OpenPairingRole: 'Administrator' }), '')).not.toBe(credentialDigest(state(), ''));
    expect(credentialDigest(state({ PasswordOpenPairing: false }), '')).toBeUndefined();
  });

  it('is issued only for the credential the exchange ran against, expires, and is used up', () => {
    let t = 1_000;
    const proofs = new PasswordProofs(10_000, () => t);
    const s = state();
    expect(proofs.issue(s, 'bob', 'some-other-digest')).toBeUndefined();
    const proof = proofs.issue(s, 'bob', credentialDigest(s, 'bob'));
    expect(proof).toBeDefined();
    expect(() => proofs.consume(proof, s, 'bob')).not.toThrow();
    expect(() => proofs.consume(proof, s, 'bob')).toThrow(/no longer valid \(used\)/);
    const late = proofs.issue(s, 'bob', credentialDigest(s, 'bob'));
    t += 10_001;
    expect(() => proofs.consume(late, s, 'bob')).toThrow(/expired/);
    expect(proofs.size).toBe(0);
  });

  it('is voided by a change that is undone again, and refused for another username', () => {
    const proofs = new PasswordProofs(10_000, () => 0);
    const s = state();
    const proof = proofs.issue(s, 'bob', credentialDigest(s, 'bob'));
    proofs.stateChanged(state({ Users: [] }));
    proofs.stateChanged(s);
    expect(() => proofs.consume(proof, s, 'bob')).toThrow(/changed/);
    const other = proofs.issue(s, '', credentialDigest(s, ''));
    expect(() => proofs.consume(other, s, 'bob')).toThrow(/authenticate/);
  });
});
