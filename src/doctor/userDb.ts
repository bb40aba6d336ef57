/**
 * Who mysqld runs as, from /etc/passwd and /etc/group text (no shelling out to `id`). Pure parsers; the files
 * are read at the edge (run.ts). NSS sources other than the files (LDAP, sssd) are not consulted.
 */

/** A user's numeric identity: uid, primary gid and every supplementary gid. */
export interface UserIdentity {
  name: string;
  uid: number;
  /** Primary group first. */
  gids: number[];
  /** Group names by gid, for messages. */
  groupNames: Map<number, string>;
}

function lines(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => line.split(':'));
}

/** The user `name` (or a numeric uid) from passwd and group text; undefined when passwd has no such user. */
export function userIdentity(name: string, passwd: string, group: string): UserIdentity | undefined {
  const entry = lines(passwd).find((f) => f[0] === name || (/^\d+$/.test(name) && f[2] === name));
  if (entry === undefined) return undefined;
  const userName = entry[0] ?? name;
  const uid = Number(entry[2]);
  const primary = Number(entry[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(primary)) return undefined;
  const groupNames = new Map<number, string>();
  const gids = [primary];
  for (const fields of lines(group)) {
    const gid = Number(fields[2]);
    if (!Number.isInteger(gid)) continue;
    groupNames.set(gid, fields[0] ?? String(gid));
    const members = (fields[3] ?? '').split(',').map((m) => m.trim());
    if (members.includes(userName) && !gids.includes(gid)) gids.push(gid);
  }
  return { name: userName, uid, gids, groupNames };
}

/** Group name for a gid, or the number. */
export function groupName(user: UserIdentity, gid: number): string {
  return user.groupNames.get(gid) ?? String(gid);
}
