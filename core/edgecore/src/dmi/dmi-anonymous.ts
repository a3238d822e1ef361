/**
 * What DMI calls without a token may do (kept apart from dmi-access.ts so the command line and the
 * options load no DMI code): `unmanaged` lets them serve only protocols edgecore runs no mapper of
 * its own for; `deny` refuses them all.
 */
export type DmiAnonymous = 'unmanaged' | 'deny';
export const DMI_ANONYMOUS_MODES: readonly DmiAnonymous[] = ['unmanaged', 'deny'];
