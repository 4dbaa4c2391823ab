// Whether this process runs in a user namespace other than the initial one (a container with user namespaces,
// `unshare -U`, rootless Podman). IPVS checks CAP_NET_ADMIN in the initial user namespace (every command is
// GENL_ADMIN_PERM, which generic netlink checks with netlink_capable()), so such a process is refused with
// EPERM whatever capabilities it holds in its own: the refusal should say that rather than "grant
// CAP_NET_ADMIN". Linux has no direct question for it; the initial namespace's uid_map is the identity map of
// every id ("0 0 4294967295"), which a child namespace's map cannot be unless a privileged writer of the parent
// wrote that very map (then the answer is a wrong "no", and the refusal names CAP_NET_ADMIN plainly).

import { readFileSync } from 'node:fs';

/** true in a user namespace other than the initial one; false in the initial one, or when the map cannot be read. */
export function inChildUserNamespace(uidMap = '/proc/self/uid_map'): boolean {
  let text: string;
  try {
    text = readFileSync(uidMap, 'utf8');
  } catch {
    return false;
  }
  return text.trim().split(/\s+/).join(' ') !== '0 0 4294967295';
}
