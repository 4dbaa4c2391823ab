// The `ipvsadm` command lines of the seed document (/work/shared/seeds/, a blog post on LVS persistence
// with a health-check script), shared by the fake-kernel test (test/cli/seed.test.ts) and the real-kernel
// one (test/kernel/seed.kernel.test.ts). The document as stored was mangled on its way to text: case
// changed (`Ipvsadm-a-T ... -S RR-P`), spaces lost between options (`-s rr-p 60`), words split
// (`ipvs Adm`, `192.1 68.1.117`) and the shell script folded onto one line. Each entry keeps the text as
// it appears there and the command line it stands for: the same options, values and order, with the
// mangling undone and the script's variables (vip=192.168.1.110, cport=80, rport=80, type=g, weights 2 and
// 1 for 192.168.1.116 and .117) expanded as the script expands them. Only the program name changes when
// the tests run them through `ipvs`.

export interface SeedLine {
  /** As the seed document prints it. */
  seed: string;
  /** The ipvsadm arguments (without the program name). */
  args: string;
}

export const SEED_LINES: readonly SeedLine[] = [
  // PCC: one persistent service on port 0 for all ports of the VIP
  { seed: 'Ipvsadm-a-T 192.168.1.110:0-S RR-P 600', args: '-A -t 192.168.1.110:0 -s rr -p 600' },
  // firewall-mark persistence: the service for mark 10 and its two real servers
  { seed: 'ipvs Adm-a-F 10-s rr-p 60', args: '-A -f 10 -s rr -p 60' },
  { seed: 'ipvsadm-a-F 10-r 192.168.1.116-g', args: '-a -f 10 -r 192.168.1.116 -g' },
  { seed: 'ipvsadm-a-f 10-r 192.1 68.1.117-g', args: '-a -f 10 -r 192.168.1.117 -g' },
  // the health-check script's add () for each healthy real server, then del () for a failed one
  { seed: 'ipvsadm -a -t $VIP : $CPORT -r $1: $RPORT -$TYPE -w $2', args: '-a -t 192.168.1.110:80 -r 192.168.1.116:80 -g -w 2' },
  { seed: 'ipvsadm -a -t $VIP : $CPORT -r $1: $RPORT -$TYPE -w $2', args: '-a -t 192.168.1.110:80 -r 192.168.1.117:80 -g -w 1' },
  { seed: 'ipvsadm -d -t $VIP: $CPORT -r $1: $RPORT', args: '-d -t 192.168.1.110:80 -r 192.168.1.116:80' },
];

/**
 * What the seed assumes is already there (its part one, not in the document): the virtual service the
 * health-check script adds real servers to, with ipvsadm's defaults.
 */
export const SEED_PREREQUISITES: readonly string[] = ['-A -t 192.168.1.110:80'];

/** Everything in order: the prerequisite, then the seed's lines. */
export const SEED_SEQUENCE: readonly string[] = [
  SEED_LINES[0]!.args,
  SEED_LINES[1]!.args,
  SEED_LINES[2]!.args,
  SEED_LINES[3]!.args,
  ...SEED_PREREQUISITES,
  SEED_LINES[4]!.args,
  SEED_LINES[5]!.args,
  SEED_LINES[6]!.args,
];

/** The table ipvsadm 1.31 leaves after SEED_SEQUENCE (`ipvsadm -Sn`, checked on the real kernel). */
export const SEED_SAVED =
  '-A -t 192.168.1.110:0 -s rr -p 600\n' +
  '-A -t 192.168.1.110:80 -s wlc\n' +
  '-a -t 192.168.1.110:80 -r 192.168.1.117:80 -g -w 1\n' +
  '-A -f 10 -s rr -p 60\n' +
  '-a -f 10 -r 192.168.1.116:0 -g -w 1\n' +
  '-a -f 10 -r 192.168.1.117:0 -g -w 1\n';
