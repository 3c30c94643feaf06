/** Roles a person can be given (the camera's Unpaired role is for strangers, never for a user). */
export function assignableRoles(roles: readonly string[]): string[] {
  return roles.filter((r) => r !== 'Unpaired');
}

/** The role suggested for a new user: the everyday one, not the administrator. */
export function defaultInviteRole(roles: readonly string[]): string {
  const assignable = assignableRoles(roles);
  return assignable.find((r) => r === 'Standard') ?? assignable.find((r) => !/admin/i.test(r)) ?? assignable[0] ?? '';
}
