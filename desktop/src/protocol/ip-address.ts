// Textual IP addresses, as the completion's "udp_host" carries them (docs/protocol.md §4.4): an
// IPv4 address in dotted-quad form or an IPv6 address in its textual form (RFC 4291 §2.2), with
// no brackets and no zone. The same forms as inet_pton accepts, so that both clients agree.

const IPV4_PART = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

function isIPv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => IPV4_PART.test(p));
}

/** The groups of one side of "::" (an IPv4 tail counts as two); undefined if one is not valid. */
function countGroups(side: string, mayEndInIPv4: boolean): number | undefined {
  if (side === '') return 0;
  const groups = side.split(':');
  let count = 0;
  for (const [i, g] of groups.entries()) {
    if (mayEndInIPv4 && i === groups.length - 1 && g.includes('.')) {
      if (!isIPv4(g)) return undefined;
      count += 2;
    } else if (HEX_GROUP.test(g)) {
      count += 1;
    } else {
      return undefined;
    }
  }
  return count;
}

function isIPv6(text: string): boolean {
  if (text.length > 45) return false;
  const [before, after, ...more] = text.split('::');
  if (more.length > 0 || before === undefined) return false;
  if (after === undefined) return countGroups(text, true) === 8;
  const head = countGroups(before, false);
  const tail = countGroups(after, true);
  return head !== undefined && tail !== undefined && head + tail <= 7;
}

/** 'IPv4' or 'IPv6' for a valid textual address, undefined for anything else. */
export function ipFamily(text: string): 'IPv4' | 'IPv6' | undefined {
  if (isIPv4(text)) return 'IPv4';
  if (isIPv6(text)) return 'IPv6';
  return undefined;
}
