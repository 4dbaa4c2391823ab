// The help and version texts of `ipvs`. The commands and options are ipvsadm 1.31's (the CLI is a
// drop-in for it); the wording is this project's own.

import { readFileSync } from 'node:fs';

/** The package version, read from the package.json above this file (src/ or dist/src/). */
export function packageVersion(): string {
  let dir = new URL('.', import.meta.url);
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'ipvs' && pkg.version) return pkg.version;
    } catch {
      // keep walking up
    }
    dir = new URL('..', dir);
  }
  return 'unknown';
}

export function versionText(): string {
  return `ipvs ${packageVersion()} (ipvsadm v1.31 compatible command line, generic netlink, IPVS v1.2.1)\n`;
}

export function usageText(program: string): string {
  const p = program;
  return `${versionText()}Usage:
  ${p} -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe engine] [-b sched-flags]
  ${p} -D virtual-service
  ${p} -C
  ${p} -R
  ${p} -S [-n]
  ${p} -a|e virtual-service -r server-address [options]
  ${p} -d virtual-service -r server-address
  ${p} -L|l [virtual-service] [options]
  ${p} -Z [virtual-service]
  ${p} --set tcp tcpfin udp
  ${p} --start-daemon {master|backup} [daemon-options]
  ${p} --stop-daemon {master|backup}
  ${p} -h
  ${p} -v
  ${p} --netns NAME|PATH command ...

Commands (short or long form):
  -A  --add-service       create a virtual service
  -E  --edit-service      replace the settings of a virtual service
  -D  --delete-service    remove a virtual service and its real servers
  -C  --clear             remove every virtual service
  -R  --restore           apply rules (ipvsadm save format) read from standard input
  -S  --save              print the table as rules
  -a  --add-server        add a real server to a virtual service
  -e  --edit-server       replace the settings of a real server
  -d  --delete-server     remove a real server
  -L, -l  --list          print the table (all services, or one)
  -Z  --zero              reset the counters of one service or of all
      --set tcp tcpfin udp    set the connection timeouts in seconds (0 keeps a value)
      --start-daemon STATE    start the connection sync daemon (master or backup)
      --stop-daemon STATE     stop the connection sync daemon
  -h  --help              print this text
  -v  --version           print the version

Virtual service:
  -t  --tcp-service ADDR[:PORT]   a TCP service; IPv6 as [ADDR]:PORT
  -u  --udp-service ADDR[:PORT]   a UDP service
      --sctp-service ADDR[:PORT]  an SCTP service
  -f  --fwmark-service MARK       a firewall-mark service (MARK > 0)

Options:
  -6  --ipv6               the firewall-mark service is IPv6
  -s  --scheduler NAME     rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh|twos, or none (default wlc)
      --pe ENGINE          persistence engine (sip)
  -p  --persistent [SECS]  persistent service (default 360 seconds)
  -M  --netmask MASK       persistence granularity (IPv4 mask or IPv6 prefix length)
  -r  --real-server ADDR[:PORT]   the real server
  -g  --gatewaying         direct routing (default)
  -i  --ipip               tunnelling
  -m  --masquerading       NAT
      --tun-type TYPE      ipip|gue|gre (default ipip)
      --tun-port PORT      the tunnel's destination port (gue)
      --tun-nocsum         tunnel without checksum (default)
      --tun-csum           tunnel with checksum
      --tun-remcsum        tunnel with remote checksum offload
  -w  --weight N           real server weight (default 1)
  -x  --u-threshold N      upper connection threshold
  -y  --l-threshold N      lower connection threshold
  -c  --connection         list the connection table
      --timeout            list the timeouts
      --daemon             list the sync daemons
      --stats              list counters
      --rate               list rates
  -X  --exact              print numbers in full
      --thresholds         list thresholds
      --persistent-conn    list persistent connections
      --tun-info           list tunnel details
      --nosort             keep the kernel's order
      --sort               sort (the default; accepted for compatibility)
  -o  --ops                one-packet scheduling (UDP and firewall-mark services)
  -n  --numeric            print addresses and ports as numbers
  -b  --sched-flags FLAGS  scheduler flags, comma separated (sh-fallback, sh-port, mh-fallback, mh-port, flag-N)

Sync daemon options:
      --syncid ID              sync id, 0..255 (default 0)
      --sync-maxlen BYTES      largest sync message
      --mcast-interface IF     multicast interface (default eth0)
      --mcast-group ADDR       IPv4 or IPv6 multicast group (kernel default 224.0.0.81)
      --mcast-port PORT        UDP port (kernel default 8848)
      --mcast-ttl TTL          multicast TTL (kernel default 1)

Before any command (not an ipvsadm option):
      --netns NAME|PATH   run in that network namespace, as \`ip netns exec NAME ${p} ...' would:
                          a name under /var/run/netns or a path such as /proc/PID/ns/net
`;
}

/** The one-line hint ipvsadm prints for a command line it cannot make sense of. */
export function tryHelpText(program: string): string {
  return `Try \`${program} -h' or '${program} --help' for more information.\n`;
}
