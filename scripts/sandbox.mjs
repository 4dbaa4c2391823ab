#!/usr/bin/env node
// Real-kernel runner for the ipvs package. This machine's kernel has no IPVS, so the kernel suites run inside a
// throwaway User-Mode Linux kernel (Debian's `user-mode-linux`, Linux 6.1, whose modules include ip_vs, every
// scheduler and ip_vs_pe_sip). The guest's root is the host's / over hostfs, so the project, node and node_modules
// are the host's own; nothing on the host is modified (module lookup, /run, TMPDIR and network namespaces live on
// tmpfs inside the guest, and the guest has no network device to the host). The UML console turns \n into \r\n
// and mixes kernel messages in, so results travel through files in a per-run directory (.uml/run-<id>/,
// gitignored): `output` (the command's stdout+stderr), `status` (its exit code), `console.log` (the kernel's own
// log), `init.log` (the guest's setup), `init.sh` (the generated PID 1 script).
//
// Usage: node scripts/sandbox.mjs [options] [-- CMD ARGS...]
//   --check              boot, load ip_vs and run `ipvsadm -A -t 10.200.0.1:80 -s rr && ipvsadm -Ln`
//   --kernel-suite       run `npx vitest run --config vitest.kernel.config.ts [ARGS...]` (IPVS_KERNEL=1)
//   --timeout SECONDS    kill the guest after this long (default 1200; exit 124)
//   --mem SIZE           guest memory (default 1G)
//   --env NAME           pass this host environment variable into the guest (repeatable; CI and IPVS_* always are)
//   --keep               keep the run directory even when the command succeeds
//   --install            apt-get install user-mode-linux and the tools if /usr/bin/linux is missing
//   --clean              delete the run directories of finished runs (failed runs are kept for debugging)
// Exit status: the command's own, or 2 when the sandbox itself failed (no kernel, no ip_vs, no status), 124 on
// timeout. Inside the guest: cwd is the current directory, IPVS_SANDBOX=1 and IPVS_KERNEL=1, TERM=dumb, and a
// dummy interface dum0 carries 10.200.0.1/16, 10.0.0.1/8, 192.168.1.1/24, fd00:200::1/64 and 2001:db8::1/64.
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  readdirSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const UML = '/usr/bin/linux';
// The UML kernel's release (6.1.176 with Debian 12's package); its modules live under /usr/lib/uml/modules.
const KVER = umlRelease();
const MODDIR = `/usr/lib/uml/modules/${KVER}`;
const PACKAGES = 'user-mode-linux kmod ipvsadm iproute2 iptables';
const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh'];
const MODULES = ['ip_vs', ...SCHEDULERS.map((s) => `ip_vs_${s}`), 'ip_vs_pe_sip', 'dummy', 'veth'];
const CHECK_COMMAND = 'ipvsadm -A -t 10.200.0.1:80 -s rr && ipvsadm -Ln';
const SUITE_COMMAND = 'npx vitest run --config vitest.kernel.config.ts';
const projectDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function umlRelease() {
  const r = existsSync(UML) ? spawnSync(UML, ['--version'], { encoding: 'utf8', timeout: 10_000 }) : undefined;
  const v = r?.stdout?.trim();
  return v && /^[\w.+-]+$/.test(v) ? v : '6.1.176';
}

function fail(message) {
  process.stderr.write(`sandbox: ${message}\n`);
  process.exit(2);
}

function usage(message) {
  if (message) process.stderr.write(`sandbox: ${message}\n`);
  process.stderr.write(
    'usage: node scripts/sandbox.mjs [--timeout S] [--mem SIZE] [--env NAME]... [--keep] [--install]\n' +
      '                                [--check | --kernel-suite [-- VITEST ARGS...] | -- CMD ARGS...]\n' +
      '       node scripts/sandbox.mjs --clean\n',
  );
  process.exit(2);
}

function shellQuote(s) {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

function parseArgs(argv) {
  const opts = { timeout: 1200, mem: '1G', keep: false, install: false, mode: undefined, env: [], rest: [] };
  let i = 0;
  const value = (name) => {
    if (i + 1 >= argv.length) usage(`${name} needs a value`);
    return argv[++i];
  };
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      i++;
      break;
    }
    if (a === '--timeout') {
      opts.timeout = Number(value(a));
      if (!Number.isFinite(opts.timeout) || opts.timeout <= 0) usage('--timeout needs a positive number of seconds');
    } else if (a === '--mem') {
      opts.mem = value(a);
      if (!/^\d+[KMG]?$/i.test(opts.mem)) usage('--mem takes a size such as 512M or 2G');
    } else if (a === '--env') {
      const name = value(a);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) usage(`--env: not a variable name: ${name}`);
      opts.env.push(name);
    } else if (a === '--keep') opts.keep = true;
    else if (a === '--install') opts.install = true;
    else if (a === '--clean') opts.mode = 'clean';
    else if (a === '--check') opts.mode = 'check';
    else if (a === '--kernel-suite') opts.mode = 'suite';
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown option ${a}`);
  }
  opts.rest = argv.slice(i);
  if (opts.mode === 'clean') {
    if (opts.rest.length > 0) usage('--clean takes no command');
  } else if (opts.mode === 'check') {
    if (opts.rest.length > 0) usage('--check takes no command');
    opts.command = CHECK_COMMAND;
  } else if (opts.mode === 'suite') {
    // Anything after -- narrows the run: file filters, -t NAME, --reporter=verbose, ...
    opts.command = [SUITE_COMMAND, ...opts.rest.map(shellQuote)].join(' ');
  } else {
    if (opts.rest.length === 0) usage('no command (use --check, --kernel-suite or -- CMD ARGS...)');
    // One argument is taken as a shell command line (`-- 'a && b'`); several as an argv to quote.
    opts.command = opts.rest.length === 1 ? opts.rest[0] : opts.rest.map(shellQuote).join(' ');
  }
  return opts;
}

// What the guest needs from the host's root: the UML kernel and its modules, plus the tools init.sh uses.
function missingTools() {
  const need = [UML, MODDIR, '/usr/sbin/modprobe', '/usr/sbin/ipvsadm'].filter((f) => !existsSync(f));
  if (!['/usr/bin/ip', '/usr/sbin/ip', '/bin/ip', '/sbin/ip'].some((f) => existsSync(f))) need.push('ip');
  return need;
}

function ensureUml(install) {
  let missing = missingTools();
  if (missing.length === 0) return;
  const cmd = `apt-get update && apt-get install -y ${PACKAGES}`;
  if (!install)
    fail(`missing ${missing.join(', ')}. Install User-Mode Linux and the tools with:\n  ${cmd}\n(or rerun with --install)`);
  const r = spawnSync('sh', ['-c', cmd], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  missing = missingTools();
  if (r.status !== 0 || missing.length > 0)
    fail(`installing ${PACKAGES} failed${missing.length ? ` (still missing ${missing.join(', ')}; the modules must be ${MODDIR})` : ''}`);
}

function memBytes(mem) {
  const m = /^(\d+)([KMG]?)$/i.exec(mem);
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2].toUpperCase()];
  return Number(m[1]) * unit;
}

// UML backs guest memory with an (unlinked) file in TMPDIR that it maps executable: the directory needs room for
// the whole guest memory and must not be mounted noexec. tmpfs (/dev/shm) is fastest.
function pickTmpdir(mem) {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f.length > 3);
  const noexec = (dir) => {
    let best;
    for (const [, point, , flags] of mounts) {
      if ((dir === point || dir.startsWith(point.endsWith('/') ? point : `${point}/`)) && (!best || point.length >= best[0].length))
        best = [point, flags];
    }
    return best !== undefined && best[1].split(',').includes('noexec');
  };
  for (const dir of [process.env.TMPDIR, '/dev/shm', '/tmp', '/var/tmp']) {
    if (!dir || !existsSync(dir)) continue;
    try {
      const st = statfsSync(dir);
      if (st.bavail * st.bsize > memBytes(mem) + 256 * 1024 ** 2 && !noexec(resolve(dir))) return dir;
    } catch {
      /* try the next one */
    }
  }
  fail(`no directory with ${mem} free and exec allowed for UML's memory file (set TMPDIR)`);
}

function initScript({ runDir, command, env, cwd }) {
  const nodeDir = dirname(process.execPath);
  const path = [join(runDir, 'bin'), nodeDir, '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  const exports = Object.entries(env)
    .map(([k, v]) => `export ${k}=${shellQuote(v)}\n`)
    .join('');
  return `#!/bin/bash
# PID 1 inside User-Mode Linux, generated by scripts/sandbox.mjs. Results go to files in this directory:
# output (the command's stdout+stderr), status (its exit code), init.log (this script's own log).
set -u
RUN=${shellQuote(runDir)}
exec </dev/null >"$RUN/init.log" 2>&1
finish() {
  echo "$1" >"$RUN/status.tmp" && mv "$RUN/status.tmp" "$RUN/status"
  sync
  poweroff -f
  halt -f
  echo o >/proc/sysrq-trigger
  sleep 10
  exit "$1" # PID 1 exiting panics the guest, which also ends UML
}
trap 'finish 2' TERM INT
echo "init: start $(date +%s.%N)"
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev || echo "init: no devtmpfs"
mkdir -p /dev/shm && mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=0755 tmpfs /run # guest-local: ip netns keeps namespaces in /run/netns
mkdir -p /run/netns /run/lock /run/tmp && chmod 1777 /run/tmp
# Module lookup without touching the host (which has no /lib/modules at all): a private root whose
# lib/modules/${KVER} points at the UML modules. The modprobe wrapper in $RUN/bin uses it, for our calls, for
# anything on PATH, and for the kernel's own autoloading (veth, iptables matches, ...).
mkdir -p /run/modroot/lib/modules
ln -s ${MODDIR} /run/modroot/lib/modules/${KVER}
echo "$RUN/bin/modprobe" >/proc/sys/kernel/modprobe
export PATH=${shellQuote(path.join(':'))}
export HOME=/root TERM=dumb LANG=C.UTF-8 TMPDIR=/run/tmp # scratch on guest tmpfs; /tmp itself stays the host's
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
${exports}for m in ${MODULES.join(' ')}; do
  modprobe "$m" || echo "$m" >>"$RUN/modprobe.failed"
done
if [ ! -e /proc/net/ip_vs ]; then
  echo "ip_vs did not load" >"$RUN/ipvs.failed"
  finish 2
fi
hostname ipvs-sandbox
ip link set lo up
ip link add dum0 type dummy
ip link set dum0 up
# Test addresses; 10.0.0.0/8, 192.168.1.0/24 and 2001:db8::/64 are routed via dum0 so that direct-routing
# destinations in those ranges are unicast-routable.
for a in 10.200.0.1/16 10.0.0.1/8 192.168.1.1/24; do ip addr add "$a" dev dum0; done
for a in fd00:200::1/64 2001:db8::1/64; do ip -6 addr add "$a" dev dum0 nodad; done
cd ${shellQuote(cwd)} || { echo "sandbox: cannot cd to ${cwd.replaceAll('"', '')} in the guest" >"$RUN/output"; finish 2; }
echo "init: booted $(date +%s.%N)"
echo booted >"$RUN/booted"
bash -c ${shellQuote(command)} >"$RUN/output" 2>&1 </dev/null
rc=$?
echo "init: command exited $rc at $(date +%s.%N)"
finish "$rc"
`;
}

// Debian's UML 6.1 saves guest FPU state with PTRACE_{GET,SET}REGSET(NT_X86_XSTATE) using its own, smaller
// buffer; newer host kernels on CPUs with AVX-512/AMX reject a SETREGSET whose size is not the full xstate size
// (console: "ptrace set fp regs failed, errno = 14", then init dies and the kernel panics). This LD_PRELOAD shim,
// built once with cc into .uml/, bounces those calls through a full-size buffer and leaves every other ptrace
// request alone.
const XSTATE_SHIM_C = String.raw`#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>
#define XSTATE_NOTE 0x202
typedef long (*ptrace_fn)(int, pid_t, void *, void *);
static __thread unsigned char bounce[65536] __attribute__((aligned(64)));
long ptrace(enum __ptrace_request req, ...) {
  va_list ap;
  va_start(ap, req);
  pid_t pid = va_arg(ap, pid_t);
  void *addr = va_arg(ap, void *);
  void *data = va_arg(ap, void *);
  va_end(ap);
  if ((req == PTRACE_GETREGSET || req == PTRACE_SETREGSET) && (long)addr == XSTATE_NOTE && data != NULL) {
    struct iovec *iov = data;
    struct iovec full = { bounce, sizeof bounce };
    if (syscall(SYS_ptrace, PTRACE_GETREGSET, pid, addr, &full) < 0) return -1;
    if (iov->iov_len < full.iov_len) {
      if (req == PTRACE_GETREGSET) {
        memcpy(iov->iov_base, bounce, iov->iov_len);
        return 0;
      }
      memcpy(bounce, iov->iov_base, iov->iov_len);
      return syscall(SYS_ptrace, PTRACE_SETREGSET, pid, addr, &full);
    }
  }
  ptrace_fn real = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
  return real(req, pid, addr, data);
}
`;

function buildXstateShim() {
  const dir = join(projectDir, '.uml');
  const so = join(dir, 'ptrace-xstate-shim.so');
  const src = join(dir, 'ptrace-xstate-shim.c');
  if (existsSync(so) && existsSync(src) && readFileSync(src, 'utf8') === XSTATE_SHIM_C) return so;
  mkdirSync(dir, { recursive: true });
  writeFileSync(src, XSTATE_SHIM_C);
  const tmpSo = `${so}.${process.pid}`;
  const r = spawnSync('cc', ['-shared', '-fPIC', '-O2', '-o', tmpSo, src, '-ldl'], { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write('sandbox: warning: could not build the ptrace xstate shim (is gcc installed?); booting without it\n');
    return undefined;
  }
  spawnSync('mv', ['-f', tmpSo, so]);
  return so;
}

function readText(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function tail(file, n) {
  const text = readText(file);
  if (text === undefined) return '(missing)';
  return text.replaceAll('\r', '').trimEnd().split('\n').slice(-n).join('\n');
}

// Host environment for the guest: CI and every IPVS_* always, plus the names given with --env.
function guestEnv(names) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (k === 'CI' || k.startsWith('IPVS_')) env[k] = v;
  for (const k of names) if (process.env[k] !== undefined) env[k] = process.env[k];
  env.IPVS_SANDBOX = '1';
  env.IPVS_KERNEL = '1';
  return env;
}

// Run dirs are named run-<time>-<pid of the sandbox.mjs that owns it>; a run is live while that process is.
function cleanRunDirs() {
  const base = join(projectDir, '.uml');
  let removed = 0;
  let live = 0;
  for (const name of existsSync(base) ? readdirSync(base) : []) {
    const m = /^run-[0-9a-z]+-(\d+)$/.exec(name);
    if (!m) continue;
    const cmdline = readText(`/proc/${m[1]}/cmdline`);
    if (cmdline !== undefined && cmdline.includes('sandbox.mjs')) {
      live++;
      continue;
    }
    rmSync(join(base, name), { recursive: true, force: true });
    removed++;
  }
  process.stdout.write(`sandbox: removed ${removed} finished run dir(s), left ${live} live one(s)\n`);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.mode === 'clean') return cleanRunDirs();
  ensureUml(opts.install);

  const id = `${Date.now().toString(36)}-${process.pid}`;
  const runDir = join(projectDir, '.uml', `run-${id}`);
  mkdirSync(join(runDir, 'bin'), { recursive: true });
  writeFileSync(join(runDir, 'bin', 'modprobe'), '#!/bin/sh\nexec /usr/sbin/modprobe -d /run/modroot "$@"\n');
  chmodSync(join(runDir, 'bin', 'modprobe'), 0o755);
  const init = join(runDir, 'init.sh');
  writeFileSync(init, initScript({ runDir, command: opts.command, env: guestEnv(opts.env), cwd: process.cwd() }));
  chmodSync(init, 0o755);

  const shim = buildXstateShim();
  const consoleLog = join(runDir, 'console.log');
  const logFd = openSync(consoleLog, 'w');
  // umid + uml_dir keep the mconsole socket and pid file inside the run dir: no clash with ~/.uml or other runs.
  const args = [
    `mem=${opts.mem}`,
    'root=/dev/root',
    'rootfstype=hostfs',
    'rootflags=/',
    'rw',
    'quiet',
    `umid=ipvs-${id}`,
    `uml_dir=${runDir}`,
    `init=${init}`,
    'con=null',
    'con0=fd:0,fd:1',
  ];
  writeFileSync(join(runDir, 'cmdline'), `${UML} ${args.join(' ')}\n`);
  const started = Date.now();
  const child = spawn(UML, args, {
    stdio: ['pipe', logFd, logFd],
    detached: true, // own process group, so a timeout or ^C takes down every UML host process
    cwd: runDir,
    env: { ...process.env, TMPDIR: pickTmpdir(opts.mem), ...(shim ? { LD_PRELOAD: shim } : {}) },
  });
  const killGroup = () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, opts.timeout * 1000);
  process.on('SIGINT', () => {
    killGroup();
    process.exit(130);
  });
  process.on('SIGTERM', () => {
    killGroup();
    process.exit(143);
  });
  const spawnError = await new Promise((res) => {
    child.on('error', (err) => res(err));
    child.on('exit', () => res(undefined));
  });
  clearTimeout(timer);
  killGroup(); // UML helper processes share the group; none may outlive the run
  const seconds = ((Date.now() - started) / 1000).toFixed(1);

  const output = readText(join(runDir, 'output'));
  if (output !== undefined) process.stdout.write(output);
  const status = readText(join(runDir, 'status'));
  const modFailed = readText(join(runDir, 'modprobe.failed'));
  if (modFailed) process.stderr.write(`sandbox: warning: modules that did not load: ${modFailed.trim().split('\n').join(' ')}\n`);

  let problem;
  if (!existsSync(runDir)) problem = `the run dir ${runDir} was deleted while the guest ran (use --clean, which spares live runs)`;
  else if (spawnError) problem = `could not start ${UML}: ${spawnError.message}`;
  else if (timedOut) problem = `timed out after ${opts.timeout} s`;
  else if (!existsSync(join(runDir, 'booted')) && existsSync(join(runDir, 'ipvs.failed')))
    problem = 'the kernel came up but ip_vs could not be loaded';
  else if (!existsSync(join(runDir, 'booted')) && status === undefined) problem = 'the User-Mode Linux kernel did not come up';
  else if (status === undefined) problem = 'the command ran but left no exit status (the guest died?)';
  if (problem) {
    // A panic's stack trace fills the tail; the lines that say why come before it.
    const why = (readText(consoleLog) ?? '')
      .replaceAll('\r', '')
      .split('\n')
      .filter((l) => /panic|fail|error|unable|cannot|killed/i.test(l) && !/ubd device 0|find_iomem/.test(l))
      .slice(0, 10);
    const hint = why.some((l) => l.includes('ptrace set fp regs failed'))
      ? 'sandbox: "ptrace set fp regs failed" is the host-CPU xstate problem; the ptrace shim in .uml/ should have fixed it (is cc installed?)\n'
      : '';
    process.stderr.write(
      `sandbox: ${problem} (${seconds} s).\n` +
        hint +
        (why.length > 0 ? `--- notable kernel console lines:\n${why.join('\n')}\n` : '') +
        `--- last lines of the kernel console (${consoleLog}):\n${tail(consoleLog, 40)}\n` +
        `--- last lines of the guest init log (${join(runDir, 'init.log')}):\n${tail(join(runDir, 'init.log'), 15)}\n` +
        `sandbox: run dir kept at ${runDir}\n`,
    );
    process.exit(timedOut ? 124 : 2);
  }
  const code = Number(status.trim());
  process.stderr.write(`sandbox: exit ${code} after ${seconds} s\n`);
  if (code === 0 && !opts.keep) rmSync(runDir, { recursive: true, force: true });
  else process.stderr.write(`sandbox: run dir kept at ${runDir}\n`);
  process.exit(Number.isInteger(code) ? code : 2);
}

main().catch((err) => {
  process.stderr.write(`sandbox: ${err?.stack ?? err}\n`);
  process.exit(2);
});
